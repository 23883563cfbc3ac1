package greet

const suffix = "!"
