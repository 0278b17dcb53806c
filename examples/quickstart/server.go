package quickstart

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxItems bounds the demo store, so a long or large run keeps its memory
// flat: past it, created items get an id but are not kept.
const maxItems = 10_000

// Item is what the demo API stores.
type Item struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type store struct {
	mu    sync.Mutex
	items map[int]Item
	next  int
}

// NewServer returns the demo API that the quick start loads: a tiny item
// store answering in 1 to 5 ms.
//
//	GET  /items       the first 20 items
//	GET  /items/{id}  one item; ids 1 to 10 exist from the start
//	POST /items       {"name": "..."} creates an item, 201 {"id": n, "name": "..."}
//
// Serve it on loopback with httptest.NewServer(NewServer()).
func NewServer() http.Handler {
	st := &store{items: make(map[int]Item)}
	for st.next = 1; st.next <= 10; st.next++ {
		st.items[st.next] = Item{ID: st.next, Name: "item-" + strconv.Itoa(st.next)}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", st.list)
	mux.HandleFunc("GET /items/{id}", st.get)
	mux.HandleFunc("POST /items", st.create)
	return withLatency(mux)
}

// withLatency delays every answer by 1 to 5 ms, like a fast real service.
func withLatency(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond + rand.N(4*time.Millisecond))
		h.ServeHTTP(w, r)
	})
}

func (st *store) list(w http.ResponseWriter, r *http.Request) {
	st.mu.Lock()
	out := make([]Item, 0, 20)
	for id := 1; id < st.next && len(out) < 20; id++ {
		if it, ok := st.items[id]; ok {
			out = append(out, it)
		}
	}
	st.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (st *store) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	st.mu.Lock()
	it, ok := st.items[id]
	st.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (st *store) create(w http.ResponseWriter, r *http.Request) {
	var in Item
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&in); err != nil || in.Name == "" {
		http.Error(w, `want a JSON body like {"name": "x"}`, http.StatusBadRequest)
		return
	}
	st.mu.Lock()
	in.ID = st.next
	st.next++
	if len(st.items) < maxItems {
		st.items[in.ID] = in
	}
	st.mu.Unlock()
	writeJSON(w, http.StatusCreated, in)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
