world
