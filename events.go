package molotov

import (
	"net/http"
	"strconv"
	"time"
)

// EventKind says what an [Event] reports.
type EventKind int

// The kinds of events, Molotov's events by their Go names.
const (
	SendingRequest   EventKind = iota + 1 // a request is about to be sent (each redirect hop too)
	ResponseReceived                      // response headers arrived, or the request failed (Err set)
	ScenarioStart                         // a scenario run is about to start
	ScenarioSuccess                       // a scenario run returned nil
	ScenarioFailure                       // a scenario run failed (Err set)
	CurrentWorkers                        // every second: the number of active workers
)

var eventNames = [...]string{"", "SendingRequest", "ResponseReceived", "ScenarioStart", "ScenarioSuccess", "ScenarioFailure", "CurrentWorkers"}

// String returns the kind's Go name, for example "ScenarioStart".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is what handlers registered with OnEvent receive.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Worker   int            // -1 for CurrentWorkers
	Scenario string         // empty for CurrentWorkers
	Request  *http.Request  // SendingRequest, ResponseReceived
	Response *http.Response // ResponseReceived, nil when the request failed
	Err      error          // ScenarioFailure, or a failed request
	Workers  int            // CurrentWorkers
}
