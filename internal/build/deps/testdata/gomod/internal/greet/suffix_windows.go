package greet

const suffix = "?"
