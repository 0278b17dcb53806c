package redact

import (
	"net/url"
	"testing"
)

func TestSecret(t *testing.T) {
	r := New("X-Tenant")
	for name, want := range map[string]bool{
		"X-Api-Key": true, "x-auth-token": true, "access_token": true, "api_key": true, "client_secret": true,
		"password": true, "Passwd": true, "SESSION": true, "signature": true, "credentials": true, "Authorization": true,
		"Cookie": true, "x-tenant": true, "Content-Type": false, "page": false, "id": false, "Accept": false,
	} {
		if got := r.Secret(name); got != want {
			t.Errorf("Secret(%q) = %v, want %v", name, got, want)
		}
	}
	if (*Rules)(nil).Secret("x-tenant") {
		t.Error("nil rules took a user's word")
	}
}

func TestHeader(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"Authorization", "Bearer abc.def", "Bearer ***"},
		{"Authorization", "abc", "***"},
		{"Proxy-Authorization", "Basic dXNlcjpwdw==", "Basic ***"},
		{"Cookie", "a=1; b=2", "a=***; b=***"},
		{"Set-Cookie", "sid=42; Path=/; HttpOnly", "sid=***; Path=/; HttpOnly"},
		{"X-Api-Key", "k-123", "***"},
		{"X-Auth-Token", "t-456", "***"},
		{"Content-Type", "application/json", "application/json"},
		{"X-Api-Key", "", ""},
	}
	for _, tt := range tests {
		if got := New().Header(tt.name, tt.value); got != tt.want {
			t.Errorf("Header(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
	}
}

func TestURLAndText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://h/p?token=abc&page=2", "http://h/p?token=***&page=2"},
		{"https://u:pw@h/p?api_key=k&access_token=t&signature=s&id=1", "https://u:xxxxx@h/p?api_key=***&access_token=***&signature=***&id=1"},
		{"http://h/p?q=go", "http://h/p?q=go"},
		{"http://h/p?tenant=acme", "http://h/p?tenant=***"}, // an extra word
		{"http://h/p?x%5Ftoken=v", "http://h/p?x%5Ftoken=***"},
	}
	r := New("tenant")
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.URL(u); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		msg := `Get "` + tt.in + `": dial tcp: connection refused`
		if got, want := r.Text(msg), `Get "`+tt.want+`": dial tcp: connection refused`; got != want {
			t.Errorf("Text(%q) = %q, want %q", msg, got, want)
		}
	}
	for _, s := range []string{"no url here", "molotov: GET http://h/x?token=abc: status 500"} {
		got := r.Text(s)
		if s == "no url here" && got != s {
			t.Errorf("Text changed %q to %q", s, got)
		}
		if s != "no url here" && got != "molotov: GET http://h/x?token=***: status 500" {
			t.Errorf("Text(%q) = %q", s, got)
		}
	}
}

func TestJSONAndForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"user":"ann","password":"hunter2"}`, `{"user":"ann","password":"***"}`},
		{`{"token": "a\"b", "n": 3, "apiKey": 12345, "ok": true}`, `{"token": "***", "n": 3, "apiKey": "***", "ok": true}`},
		{`[{"secret":null},{"name":"x"}]`, `[{"secret":"***"},{"name":"x"}]`},
		{`{"session":{"id":1}}`, `{"session":{"id":1}}`},
		{`{"user":"ann","password":"hun`, `{"user":"ann","password":"hun`}, // cut in the middle: nothing to match yet
		{`{"a":"password"}`, `{"a":"password"}`},                           // a value, not a name
	}
	for _, tt := range tests {
		if got := New().JSON(tt.in); got != tt.want {
			t.Errorf("JSON(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got, want := New().Form("user=ann&password=hunter2&remember=1"), "user=ann&password=***&remember=1"; got != want {
		t.Errorf("Form = %q, want %q", got, want)
	}
}
