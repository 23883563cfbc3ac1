module example.com/example-basic

go 1.25.0
