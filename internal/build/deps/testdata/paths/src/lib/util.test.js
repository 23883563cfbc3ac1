src/lib/util.test.js
