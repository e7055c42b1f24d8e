from tuna.cli import main

raise SystemExit(main())
