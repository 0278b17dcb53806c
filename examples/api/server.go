package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// The demo accounts: "admin" with AdminPassword, and any user whose name
// starts with "user-" with UserPassword.
const (
	AdminPassword = "admin-secret"
	UserPassword  = "user-secret"
)

// Item is what the API stores; each item belongs to the user who created it.
type Item struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

// Stats is the answer of GET /admin/stats.
type Stats struct {
	Sessions int `json:"sessions"` // tokens currently valid
	Items    int `json:"items"`    // items stored
	Logins   int `json:"logins"`   // successful logins so far
}

// Server is a small JSON API with token authentication, served in-process
// (httptest.NewServer(NewServer())):
//
//	POST   /login        {"user": "...", "password": "..."} → {"token": "..."}
//	POST   /logout       ends the token's session
//	GET    /items        the caller's items
//	POST   /items        {"name": "..."} → 201 Item
//	GET    /items/{id}   one of the caller's items
//	DELETE /items/{id}   deletes one of the caller's items
//	GET    /admin/stats  Stats; admin token only
//
// Every route but /login wants "Authorization: Bearer <token>".
type Server struct {
	mux *http.ServeMux

	mu     sync.Mutex
	tokens map[string]string // token → user
	items  map[int]Item
	next   int
	logins int
}

// maxItemsPerUser bounds the store: a user's create beyond it is refused
// with 507, so a forgotten delete shows up as failures, not as memory.
const maxItemsPerUser = 1000

// NewServer returns an empty API.
func NewServer() *Server {
	s := &Server{mux: http.NewServeMux(), tokens: map[string]string{}, items: map[int]Item{}, next: 1}
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.auth(s.logout))
	s.mux.HandleFunc("GET /items", s.auth(s.listItems))
	s.mux.HandleFunc("POST /items", s.auth(s.createItem))
	s.mux.HandleFunc("GET /items/{id}", s.auth(s.getItem))
	s.mux.HandleFunc("DELETE /items/{id}", s.auth(s.deleteItem))
	s.mux.HandleFunc("GET /admin/stats", s.auth(s.stats))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Stats returns what GET /admin/stats would answer, for tests.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Sessions: len(s.tokens), Items: len(s.items), Logins: s.logins}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ User, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&in); err != nil {
		http.Error(w, `want {"user": "...", "password": "..."}`, http.StatusBadRequest)
		return
	}
	ok := (in.User == "admin" && in.Password == AdminPassword) ||
		(strings.HasPrefix(in.User, "user-") && in.Password == UserPassword)
	if !ok {
		http.Error(w, "bad user or password", http.StatusUnauthorized)
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	token := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[token] = in.User
	s.logins++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

type authedHandler func(w http.ResponseWriter, r *http.Request, user, token string)

// auth resolves the bearer token to its user, or answers 401.
func (s *Server) auth(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		user, known := s.tokens[token]
		s.mu.Unlock()
		if !ok || !known {
			http.Error(w, "missing or unknown bearer token", http.StatusUnauthorized)
			return
		}
		h(w, r, user, token)
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, user, token string) {
	s.mu.Lock()
	delete(s.tokens, token)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request, user, _ string) {
	out := []Item{}
	s.mu.Lock()
	for _, it := range s.items {
		if it.Owner == user {
			out = append(out, it)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createItem(w http.ResponseWriter, r *http.Request, user, _ string) {
	var in Item
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&in); err != nil || in.Name == "" {
		http.Error(w, `want {"name": "..."}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	n := 0
	for _, it := range s.items {
		if it.Owner == user {
			n++
		}
	}
	if n >= maxItemsPerUser {
		s.mu.Unlock()
		http.Error(w, "too many items for "+user, http.StatusInsufficientStorage)
		return
	}
	it := Item{ID: s.next, Name: in.Name, Owner: user}
	s.next++
	s.items[it.ID] = it
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, it)
}

// item finds the caller's item named by the path, or answers 404.
func (s *Server) item(w http.ResponseWriter, r *http.Request, user string) (Item, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	it, ok := s.items[id]
	s.mu.Unlock()
	if err != nil || !ok || it.Owner != user {
		http.NotFound(w, r)
		return Item{}, false
	}
	return it, true
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request, user, _ string) {
	if it, ok := s.item(w, r, user); ok {
		writeJSON(w, http.StatusOK, it)
	}
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request, user, _ string) {
	if it, ok := s.item(w, r, user); ok {
		s.mu.Lock()
		delete(s.items, it.ID)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request, user, _ string) {
	if user != "admin" {
		http.Error(w, "admin only", http.StatusForbidden)
		return
	}
	writeJSON(w, http.StatusOK, s.Stats())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
