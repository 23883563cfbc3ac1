module example.com/example-file-sync

go 1.25.0
