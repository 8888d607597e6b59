from goalflow.cli import main

main()
