package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// TestGoneFromServer is the rule every resource's Read and Delete follow through
// handleReadError/handleDeleteError: only orbit-server's not_found, for an object whose
// space the key can read, means "deleted".
func TestGoneFromServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/whoami":
			_, _ = w.Write([]byte(`{"id":"k_1","name":"narrow","spaces":[{"space_id":"team","name":"team","role":"read"}]}`))
		case "/api/v1/spaces/orbit-404":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"space not found"}}`))
		case "/api/v1/spaces/server-error":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"code":"internal","message":"internal error"}}`))
		default:
			http.NotFound(w, r) // a 404 that is not orbit's
		}
	}))
	t.Cleanup(srv.Close)
	client, err := orbitapi.NewClient(srv.URL, "key", orbitapi.WithRetry(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	pd := &providerData{client: client, access: &access{client: client}}
	ctx := context.Background()
	get := func(id string) error { _, err := client.Spaces.Get(ctx, id); return err }

	tests := []struct {
		name, id, space string
		gone            bool
		detail          []string
	}{
		{"orbit not_found, space readable", "orbit-404", "team", true, nil},
		{"orbit not_found, space not readable", "orbit-404", "other", false, []string{`API key "narrow" (k_1) has no read role on space "other"`, "kept in state"}},
		{"orbit not_found, space unknown", "orbit-404", "", false, []string{"no read role on its space"}},
		{"404 that is not orbit's", "plain-404", "team", false, []string{"404"}},
		{"server error", "server-error", "team", false, []string{"500"}},
	}
	for _, tt := range tests {
		gone, d := pd.goneFromServer(ctx, get(tt.id), objectRef{Kind: "space", ID: tt.id, SpaceID: tt.space}, "Could not read space")
		if gone != tt.gone || (!gone && d == nil) || (gone && d != nil) {
			t.Errorf("%s: gone = %v, diagnostic %v", tt.name, gone, d)
			continue
		}
		for _, want := range tt.detail {
			if d == nil || !strings.Contains(d.Detail(), want) {
				t.Errorf("%s: diagnostic %v does not say %q", tt.name, d, want)
			}
		}
	}
}
