from mlv.cli.main import main

raise SystemExit(main())
