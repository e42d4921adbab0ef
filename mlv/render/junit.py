"""The verdict of ``mlv reproduce`` as JUnit XML, the report format CI systems display."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mlv.model.reproduce import WITHIN_TOLERANCE, ReproduceReport


def junit_xml(report: ReproduceReport) -> bytes:
    """One test case per output, a failure for each that did not reproduce."""
    cases = [(s, o) for s in report.stages for o in s.outputs]
    failures = sum(1 for s, o in cases if not (s.exit_code == 0 and o.ok))
    suite = ET.Element(
        "testsuite",
        name=f"mlv reproduce {report.rev}",
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        time=f"{sum(s.duration for s in report.stages):.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="commit", value=report.commit)
    ET.SubElement(props, "property", name="first_divergence", value=report.first_divergence or "")
    used = report.environment_used
    if used:
        how = (
            ""
            if used.get("kind") != "recorded"
            else (" (rebuilt)" if used.get("built") else " (cached)")
        )
        drift = " (differs from the record)" if report.environment.get("changed") else ""
        value = f"{used.get('kind')} {used.get('fingerprint', '')}{how}{drift}"
        ET.SubElement(props, "property", name="environment", value=value)
    for stage, output in cases:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"mlv.{stage.name}",
            name=output.path,
            time=f"{stage.duration:.3f}",
        )
        if stage.exit_code not in (0, None):
            failure = ET.SubElement(
                case,
                "failure",
                type="stage failed",
                message=f"stage {stage.name} exited {stage.exit_code}",
            )
            failure.text = stage.log[-4000:]
        elif not output.ok:
            note = "" if stage.inputs_matched else " (its inputs already differed)"
            ET.SubElement(
                case,
                "failure",
                type=output.verdict,
                message=f"{output.path} {output.verdict}: {output.explain()}{note}",
            )
        elif output.verdict == WITHIN_TOLERANCE:
            out = ET.SubElement(case, "system-out")
            out.text = output.explain()
    ET.indent(suite)
    xml: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"
