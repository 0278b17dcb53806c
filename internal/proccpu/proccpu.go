// Package proccpu reads the CPU time the process has used so far.
package proccpu

import "time"

// Used returns the CPU time, user and system, that every thread of the
// process has used since it started; false where the platform does not
// tell (Windows, Plan 9, js and wasip1).
func Used() (time.Duration, bool) { return used() }
