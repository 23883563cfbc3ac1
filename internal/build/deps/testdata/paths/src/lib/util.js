src/lib/util.js
