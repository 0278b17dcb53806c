package molotov

import (
	"reflect"
	"slices"
	"strings"
)

// optionDiff is one option in which two runs differ: its name in the JSON
// result and its two values.
type optionDiff struct{ name, a, b string }

// optionDiffs returns the options in which a and b differ, in the order of
// the JSON result, but for those named in skip. An empty list and a
// missing one are the same.
func optionDiffs(a, b *runOptions, skip ...string) []optionDiff {
	var out []optionDiff
	ra, rb := reflect.ValueOf(*a), reflect.ValueOf(*b)
	for i := range ra.NumField() {
		tag, _, _ := strings.Cut(ra.Type().Field(i).Tag.Get("json"), ",")
		fa, fb := ra.Field(i), rb.Field(i)
		if slices.Contains(skip, tag) || fa.Kind() == reflect.Slice && fa.Len() == 0 && fb.Len() == 0 {
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			out = append(out, optionDiff{tag, optionValue(fa), optionValue(fb)})
		}
	}
	return out
}
