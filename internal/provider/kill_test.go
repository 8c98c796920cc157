package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// realServer is an orbit-server process (the real binary, built by the test) that can
// be killed with SIGKILL and started again on the same address and database.
type realServer struct {
	t        *testing.T
	bin, dir string
	addr     string
	env      []string
	mu       sync.Mutex
	cmd      *exec.Cmd
}

func startRealServer(t *testing.T, adminKey string) *realServer {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "orbit-server")
	build := exec.Command("go", "build", "-o", bin, "github.com/orbit-iac/terraform-provider-orbit/cmd/orbit-server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build orbit-server: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	s := &realServer{t: t, bin: bin, dir: dir, addr: addr,
		env: append(os.Environ(), "ORBIT_SECRET_KEY="+hex.EncodeToString(secret), "ORBIT_BOOTSTRAP_KEY="+adminKey)}
	s.start()
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cmd != nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
	})
	return s
}

func (s *realServer) url() string { return "http://" + s.addr }

// start runs the binary and waits until /readyz answers (a bounded wait that guards
// against a hang; nothing is asserted about how long it takes).
func (s *realServer) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "--listen", s.addr, "--db", filepath.Join(s.dir, "orbit.db"), "--check-credentials=false")
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start orbit-server: %v", err)
	}
	s.cmd = cmd
	testwait.For(s.t, 30*time.Second, "orbit-server to become ready", func() bool {
		resp, err := http.Get(s.url() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// killAndRestart sends SIGKILL (kill -9), waits for the process to die, and starts a
// new one on the same address and database.
func (s *realServer) killAndRestart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.start()
}

// killingProxy relays to the real server; on the nth create of a space that the
// server answered 201 it kills the server with SIGKILL before relaying, starts it
// again, and closes the client's connection: the create committed, its answer is
// lost, and every other request in flight at that moment dies with the process.
type killingProxy struct {
	server *realServer
	nth    int
	mu     sync.Mutex
	seen   int
	killed bool
}

func (p *killingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.server.url()+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/spaces" && resp.StatusCode == http.StatusCreated {
		p.mu.Lock()
		p.seen++
		kill := p.seen == p.nth && !p.killed
		if kill {
			p.killed = true
		}
		p.mu.Unlock()
		if kill {
			p.server.killAndRestart()
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// TestAccKillNineMidApplyLeavesNoDuplicate: a real orbit-server process is killed
// with SIGKILL in the middle of an apply's creates and started again. Spaces used to
// be silently duplicated and integrations to fail with a bare 409. With
// Idempotency-Key and POST retries, the apply completes, a second apply changes
// nothing, and every object exists once.
func TestAccKillNineMidApplyLeavesNoDuplicate(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("acceptance test killing processes: skipped under -short (make test runs it)")
	}
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run")
	}
	adminKey, _, _, err := server.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := startRealServer(t, adminKey)
	proxy := &killingProxy{server: srv, nth: 5}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)

	const spaces, integrations = 12, 4
	config := providerBlock(front.URL, adminKey) + fmt.Sprintf(`
resource "orbit_space" "s" {
  count = %d
  name  = "kill-${count.index}"
}

resource "orbit_bitbucket_cloud_integration" "i" {
  count                = %d
  name                 = "kill-${count.index}"
  space_id             = orbit_space.s[count.index].id
  email                = "dev@example.com"
  api_token_wo         = "cloud-token-kill-nine-0001"
  api_token_wo_version = 1
}
`, spaces, integrations)

	api, err := orbitapi.NewClient(srv.url(), adminKey)
	if err != nil {
		t.Fatal(err)
	}
	noDuplicates := func(*terraform.State) error {
		ctx := context.Background()
		all, err := api.Spaces.ListAll(ctx, orbitapi.ListOptions{})
		if err != nil {
			return err
		}
		byName := map[string]int{}
		for _, sp := range all {
			byName[sp.Name]++
		}
		for i := range spaces {
			if n := byName[fmt.Sprintf("kill-%d", i)]; n != 1 {
				return fmt.Errorf("%d spaces named kill-%d, want 1", n, i)
			}
		}
		ints, err := api.Integrations.ListAll(ctx, orbitapi.IntegrationListOptions{})
		if err != nil {
			return err
		}
		if len(ints) != integrations {
			return fmt.Errorf("%d integrations, want %d", len(ints), integrations)
		}
		proxy.mu.Lock()
		defer proxy.mu.Unlock()
		if !proxy.killed {
			return fmt.Errorf("the server was never killed (%d space creates seen)", proxy.seen)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"orbit": providerserver.NewProtocol6WithError(New("acctest")()),
		},
		Steps: []resource.TestStep{
			{Config: config, Check: noDuplicates},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            noDuplicates,
			},
		},
	})
}
