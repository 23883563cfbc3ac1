module skiff.dev/skiff

go 1.25.0
