package molotov_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/molotov-go/molotov"
)

// Merge the JSON results of a run's shares, collected into results/, one
// file at a time, and judge the whole run.
func ExampleMerger() {
	files, err := filepath.Glob("results/*.json")
	if err != nil {
		log.Fatal(err)
	}
	var m molotov.Merger
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			log.Fatal(err)
		}
		res, err := molotov.ReadResult(f)
		f.Close()
		if err != nil {
			log.Fatalf("%s: %v", file, err)
		}
		if err := m.Add(file, res); err != nil {
			log.Fatal(err) // molotov: merge: results/3.json: segment: share 3/8 is also in results/2.json: give each share once
		}
	}
	total, err := m.Result()
	if err != nil {
		log.Fatal(err) // molotov: merge: segment: no result covers share 7/8: ...
	}
	fmt.Println(total.Outcome())
	for _, tr := range total.Thresholds {
		fmt.Println(tr) // p99 < 200ms (measured 143.2ms)
	}
}
