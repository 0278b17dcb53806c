// Package api load-tests a small JSON API with token authentication
// (server.go) and shows every fixture at work:
//
//   - GlobalSetup logs in as admin once and shares the token with SetVar;
//     GlobalTeardown logs the admin out.
//   - Setup logs each worker in as its own user ("user-<worker>") and
//     returns a SessionConfig whose Authorization header every request of
//     the worker's session carries.
//   - SetupSession creates the worker's "home" item through the session;
//     TeardownSession deletes it and logs the worker out.
//   - Three weighted scenarios: create_item (PostJSON, then DELETE with
//     Session.Do), read_items (GetJSON into structs, checking their
//     content) and admin_stats (the admin token read back with Var).
//
// The scenarios live on their own registry, Registry, rather than on
// molotov.DefaultRegistry, so that they run only where a Runner names it.
// Run it with
//
//	go test -count=1 ./examples/api -run Load -v
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/molotov-go/molotov"
)

// Registry holds this package's scenarios and fixtures; TestLoad runs it
// with molotov.Runner{Registry: Registry, ...}.
var Registry = molotov.NewRegistry()

// homes maps a worker, by Session.Worker, to the id of the item its
// SetupSession created. Session.SetValue and Session.Value could hold it
// as well; a map keyed by worker is also readable from Setup and Teardown,
// which get the worker's number but no Session.
var homes sync.Map // int → int

func init() {
	Registry.GlobalSetup(func(ctx context.Context, r *molotov.Runner) error {
		token, err := login(ctx, r.BaseURL, "admin", AdminPassword)
		if err != nil {
			return err // Run returns it; no worker starts
		}
		Registry.SetVar("admin_token", token)
		Registry.SetVar("base_url", r.BaseURL) // GlobalTeardown has no Runner
		return nil
	})

	Registry.Setup(func(ctx context.Context, worker int, r *molotov.Runner) (*molotov.SessionConfig, error) {
		token, err := login(ctx, r.BaseURL, "user-"+strconv.Itoa(worker), UserPassword)
		if err != nil {
			return nil, err // this worker stops; counted in Result.SetupFailed
		}
		return &molotov.SessionConfig{Header: http.Header{"Authorization": {"Bearer " + token}}}, nil
	})

	Registry.SetupSession(func(ctx context.Context, s *molotov.Session) error {
		var home Item
		if err := s.PostJSON(ctx, "/items", Item{Name: fmt.Sprintf("home of worker %d", s.Worker)}, &home); err != nil {
			return err
		}
		homes.Store(s.Worker, home.ID)
		return nil
	})

	Registry.Scenario("read_items", 6, func(ctx context.Context, s *molotov.Session) error {
		home, _ := homes.Load(s.Worker)
		var items []Item
		if err := s.GetJSON(ctx, "/items", &items); err != nil {
			return err
		}
		found := false
		for _, it := range items {
			if want := fmt.Sprintf("user-%d", s.Worker); it.Owner != want {
				return fmt.Errorf("GET /items listed item %d of %q, want only items of %q", it.ID, it.Owner, want)
			}
			found = found || it.ID == home
		}
		if !found {
			return fmt.Errorf("GET /items did not list the home item %v", home)
		}
		var it Item
		ctx = molotov.WithRequestName(ctx, "GET /items/{id}")
		if err := s.GetJSON(ctx, fmt.Sprintf("/items/%d", home), &it); err != nil {
			return err
		}
		if want := fmt.Sprintf("home of worker %d", s.Worker); it.Name != want {
			return fmt.Errorf("home item is named %q, want %q", it.Name, want)
		}
		return nil
	})

	Registry.Scenario("create_item", 3, func(ctx context.Context, s *molotov.Session) error {
		var it Item
		if err := s.PostJSON(ctx, "/items", Item{Name: fmt.Sprintf("item-%d", s.Iteration())}, &it); err != nil {
			return err
		}
		if want := fmt.Sprintf("user-%d", s.Worker); it.Owner != want {
			return fmt.Errorf("created item belongs to %q, want %q", it.Owner, want)
		}
		return deleteItem(molotov.WithRequestName(ctx, "DELETE /items/{id}"), s, it.ID)
	})

	Registry.Scenario("admin_stats", 1, func(ctx context.Context, s *molotov.Session) error {
		token, ok := Registry.Var("admin_token")
		if !ok {
			return errors.New("no admin token: GlobalSetup did not run")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/admin/stats", nil)
		if err != nil {
			return err
		}
		// A header the request sets wins over the session's header.
		req.Header.Set("Authorization", "Bearer "+token.(string))
		resp, err := s.Do(req) // a URL without host is resolved against the base URL
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := molotov.ExpectStatus(resp, http.StatusOK); err != nil {
			return err
		}
		var st Stats
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			return err
		}
		if st.Sessions < 2 || st.Items < 1 {
			return fmt.Errorf("admin stats %+v: want at least the admin's and this worker's sessions, and its home item", st)
		}
		return nil
	})

	Registry.TeardownSession(func(ctx context.Context, s *molotov.Session) error {
		// ctx is not cancelled by the run's stop, so this cleanup still
		// works after an interrupt.
		if home, ok := homes.LoadAndDelete(s.Worker); ok {
			if err := deleteItem(molotov.WithRequestName(ctx, "DELETE /items/{id}"), s, home.(int)); err != nil {
				return err
			}
		}
		resp, err := s.Post(ctx, "/logout", "", nil)
		if err != nil {
			return err
		}
		return molotov.ExpectStatus(resp, http.StatusNoContent)
	})

	Registry.GlobalTeardown(func(ctx context.Context) {
		base, _ := Registry.Var("base_url")
		token, _ := Registry.Var("admin_token")
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprint(base)+"/logout", nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", fmt.Sprint("Bearer ", token))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
}

// login runs before a worker's session exists (GlobalSetup, Setup), so it
// uses a plain client: these calls are not part of the measured load.
func login(ctx context.Context, baseURL, user, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"user": user, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := molotov.ExpectStatus(resp, http.StatusOK); err != nil {
		return "", fmt.Errorf("login as %s: %w", user, err)
	}
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("login as %s: %w", user, err)
	}
	return out.Token, nil
}

func deleteItem(ctx context.Context, s *molotov.Session, id int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, fmt.Sprintf("/items/%d", id), nil)
	if err != nil {
		return err
	}
	resp, err := s.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return molotov.ExpectStatus(resp, http.StatusNoContent)
}
