package server_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/egress"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A space admin chooses a Data Center api_host, so the credential check must not map
// the server's network for them: what they get back is one of a few fixed
// messages, whatever answered (a closed port, a plain HTTP service, another TLS
// service, a resolver error), and the raw error goes to the server log only.
func TestCredentialCheckIsNotANetworkProbe(t *testing.T) {
	t.Parallel()
	const internalText = "internal-admin-console-7781"
	imposter := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		switch kind {
		case "html404":
			http.Error(w, "<html>"+internalText+"</html>", http.StatusNotFound)
		case "json200":
			_, _ = io.WriteString(w, `{"service":"`+internalText+`"}`)
		case "plain401":
			w.Header().Set("WWW-Authenticate", `Basic realm="`+internalText+`"`)
			http.Error(w, internalText, http.StatusUnauthorized)
		case "error500":
			http.Error(w, internalText, http.StatusInternalServerError)
		}
	}))
	t.Cleanup(imposter.Close)
	plainHTTP := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, internalText) }))
	t.Cleanup(plainHTTP.Close)
	plainHost := strings.TrimPrefix(plainHTTP.URL, "http://")
	imposterHost := strings.TrimPrefix(imposter.URL, "https://")

	logs := &syncBuffer{}
	checker := &server.BitbucketChecker{
		TLSConfig: imposter.Client().Transport.(*http.Transport).TLSClientConfig,
		Timeout:   5 * time.Second,
	}
	inst := servertest.Start(t, servertest.WithCredentialChecker(checker),
		servertest.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	space := inst.NewSpace(t, "platform", "root", false)

	unreachable := func(host string) string {
		return "Bitbucket Data Center at " + host + " could not be reached: no connection (the name does not resolve, the connection is refused, or it timed out)"
	}
	notBitbucket := func(host string) string {
		return host + " answered, but not as Bitbucket Data Center; check api_host, including any context path such as /bitbucket"
	}
	tests := []struct {
		name, apiHost, reason, message string
	}{
		{"closed port", "https://127.0.0.1:1", "unreachable", unreachable("127.0.0.1:1")},
		{"unresolvable name", "https://orbit-probe.invalid", "unreachable", unreachable("orbit-probe.invalid")},
		{"plain HTTP service", "https://" + plainHost, "tls_error",
			"the TLS handshake with " + plainHost + " failed: it does not serve HTTPS there, or its certificate is not one orbit-server trusts"},
		{"TLS service answering 404", imposter.URL + "/html404", "not_bitbucket", notBitbucket(imposterHost)},
		{"TLS service answering JSON", imposter.URL + "/json200", "not_bitbucket", notBitbucket(imposterHost)},
		{"TLS service answering 401 without Bitbucket's error body", imposter.URL + "/plain401", "not_bitbucket", notBitbucket(imposterHost)},
		{"TLS service failing", imposter.URL + "/error500", "unreachable",
			"Bitbucket Data Center at " + imposterHost + " could not be reached: it answered with a server error or asked to slow down; try again later"},
		{"cloud metadata address", "https://169.254.169.254", "host_not_allowed",
			"orbit-server may not connect to 169.254.169.254: it is outside the hosts the operator allows (--bitbucket-allowed-hosts), or a link-local or cloud metadata address"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, inst, inst.AdminKey)
			requestID := "probe-" + string(rune('a'+i))
			c.headers = http.Header{"X-Request-Id": {requestID}}
			body := with(dcBody("probe", space, "probe-token-1"), "api_host", tt.apiHost)
			msg := c.wantError(http.MethodPost, "/api/v1/integrations", body, http.StatusBadRequest, "invalid_argument", "api_host")
			if msg != tt.message {
				t.Errorf("message\n got %q\nwant %q", msg, tt.message)
			}
			// Stored unchecked, validate reports the same class.
			created := c.must(http.MethodPost, "/api/v1/integrations?check_credentials=false", body, http.StatusCreated)
			res := c.must(http.MethodPost, "/api/v1/integrations/"+str(created, "id")+"/validate", nil, http.StatusOK)
			if res["valid"] != false || res["reason"] != tt.reason || res["message"] != tt.message {
				t.Errorf("validate = %v, want reason %s", res, tt.reason)
			}
			c.must(http.MethodDelete, "/api/v1/integrations/"+str(created, "id"), nil, http.StatusNoContent)
			for _, b := range c.responses() {
				for _, leak := range []string{internalText, "dial", "lookup", "connection refused", "connect:", "tls:", "x509", "HTTP/1", "probe-token-1"} {
					if strings.Contains(b, leak) {
						t.Errorf("answer leaks %q: %s", leak, b)
					}
				}
			}
			// The raw outcome is in the server log, with the request id.
			found := false
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, `"msg":"credential check failed"`) && strings.Contains(line, `"request_id":"`+requestID+`"`) &&
					strings.Contains(line, `"reason":"`+tt.reason+`"`) && strings.Contains(line, `"detail":"`) {
					found = true
					if strings.Contains(line, "probe-token-1") {
						t.Errorf("log line carries the credential: %s", line)
					}
				}
			}
			if !found {
				t.Errorf("no log line for request %s with reason %s:\n%s", requestID, tt.reason, logs.String())
			}
		})
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the log lacks the raw network error of the closed port:\n%s", logs.String())
	}
}

// --bitbucket-allowed-hosts limits where Data Center checks go; the Cloud API the
// operator configured stays reachable.
func TestCredentialCheckAllowedHosts(t *testing.T) {
	t.Parallel()
	policy, err := egress.Parse("bitbucket.example.com")
	if err != nil {
		t.Fatal(err)
	}
	restricted, sandboxURL := startCheckedServerWith(t, func(c *server.BitbucketChecker) { c.Egress = policy })
	c := newClient(t, restricted, restricted.AdminKey)
	space := restricted.NewSpace(t, "platform", "root", false)
	msg := c.wantError(http.MethodPost, "/api/v1/integrations", with(dcBody("dc", space, sbDCToken), "api_host", sandboxURL), http.StatusBadRequest, "invalid_argument", "api_host")
	if !strings.Contains(msg, "--bitbucket-allowed-hosts") {
		t.Fatalf("message %q does not point at the setting", msg)
	}
	c.must(http.MethodPost, "/api/v1/integrations", cloudBody("cloud", space, sbCloudToken), http.StatusCreated)

	policy, err = egress.Parse("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	allowed, sandboxURL := startCheckedServerWith(t, func(c *server.BitbucketChecker) { c.Egress = policy })
	c = newClient(t, allowed, allowed.AdminKey)
	space = allowed.NewSpace(t, "platform", "root", false)
	c.must(http.MethodPost, "/api/v1/integrations", with(dcBody("dc", space, sbDCToken), "api_host", sandboxURL), http.StatusCreated)
}

// Data Center commit statuses go to the caller-chosen api_host too, so they pass
// the same egress policy.
func TestStatusPostsHonourEgressPolicy(t *testing.T) {
	t.Parallel()
	policy, err := egress.Parse("bitbucket.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		policy  *egress.Policy
		apiHost string
		refused bool
	}{
		{"default, metadata", nil, "https://169.254.169.254", true},
		{"default, loopback", nil, "https://127.0.0.1:9", false},
		{"restricted, unlisted", policy, "https://127.0.0.1:9", true},
		{"restricted, listed", policy, "https://bitbucket.example.com", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inst := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.Egress = tt.policy }))
			c := newClient(t, inst, inst.AdminKey)
			space := inst.NewSpace(t, "platform", "root", false)
			created := c.must(http.MethodPost, "/api/v1/integrations", with(dcBody("dc", space, "tok"), "api_host", tt.apiHost), http.StatusCreated)
			err := server.StatusPosterError(inst.Server, str(created, "id"))
			if (err != nil) != tt.refused {
				t.Fatalf("poster error = %v, want refused=%v", err, tt.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "--bitbucket-allowed-hosts") {
				t.Fatalf("refusal %q does not point at the setting", err)
			}
		})
	}
}
