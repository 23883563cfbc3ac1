module example.com/sync

go 1.25.0
