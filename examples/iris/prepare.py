"""Write the raw data: scikit-learn's bundled iris table (no network needed).

--drop N removes the first N rows of each class, so the data can change between runs.
"""

import argparse
from pathlib import Path

from sklearn.datasets import load_iris


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drop", type=int, default=0, help="rows to drop per class")
    args = parser.parse_args()
    frame = load_iris(as_frame=True).frame
    if args.drop:
        frame = frame[frame.groupby("target").cumcount() >= args.drop]
    out = Path("data/raw")
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "iris.csv", index=False)
    (out / "README.txt").write_text("Iris flowers (Fisher, 1936) as bundled with scikit-learn.\n")
    print(f"wrote {len(frame)} rows to {out / 'iris.csv'}")


if __name__ == "__main__":
    main()
