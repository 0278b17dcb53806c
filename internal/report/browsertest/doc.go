// Package browsertest checks the HTML report in a real browser, headless
// Chromium driven over the DevTools protocol. It is a module of its own so
// that the library's users never download the browser driver.
package browsertest
