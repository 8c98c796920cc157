package provider

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
)

// Acceptance tests of issue 11: nothing but orbit-server's own not_found, for an
// object the key can read, takes a resource out of state; a lost answer to a create
// never duplicates the object.

// stateSafetyBody is one resource of each kind, the integration in the space.
const stateSafetyBody = `
resource "orbit_space" "team" {
  name = "team"
}

resource "orbit_bitbucket_cloud_integration" "team" {
  name                 = "team-cloud"
  space_id             = orbit_space.team.id
  email                = "dev@example.com"
  api_token_wo         = "cloud-token-state-safety-0001"
  api_token_wo_version = 1
}

resource "orbit_bitbucket_datacenter_integration" "default" {
  name                    = "default-dc"
  is_default              = true
  api_host                = "https://bitbucket.example.com"
  username                = "svc"
  access_token_wo         = "dc-token-state-safety-0001"
  access_token_wo_version = 1
}
`

var stateSafetyAddresses = []string{
	"orbit_space.team",
	"orbit_bitbucket_cloud_integration.team",
	"orbit_bitbucket_datacenter_integration.default",
}

func providerBlock(endpoint, apiKey string) string {
	return fmt.Sprintf("provider \"orbit\" {\n  endpoint = %q\n  api_key  = %q\n}\n", endpoint, apiKey)
}

// stillInState is a plain Check that every resource is in the state.
func stillInState(addresses ...string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, addr := range addresses {
			if _, ok := s.RootModule().Resources[addr]; !ok {
				return fmt.Errorf("%s is no longer in the state", addr)
			}
		}
		return nil
	}
}

// stateHolds checks, after a later successful step, that every resource is in state
// and that the plan against the real server is empty: nothing was dropped and nothing
// will be created twice.
func stateHoldsEverything(env *accEnv) resource.TestStep {
	return resource.TestStep{
		Config: env.config(stateSafetyBody),
		ConfigPlanChecks: resource.ConfigPlanChecks{
			PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(stateSafetyAddresses[1], tfjsonpath.New("name"), knownvalue.StringExact("team-cloud")),
			statecheck.ExpectKnownValue(stateSafetyAddresses[2], tfjsonpath.New("space_id"), knownvalue.StringExact("root")),
		},
		Check: stillInState(stateSafetyAddresses...),
	}
}

// TestAccWrongEndpointKeepsState: ORBIT_ENDPOINT pointed at an HTTP server that
// answers 404 to everything (a wrong proxy path, another service). plan used to
// report every resource as deleted and apply saved an empty state.
func TestAccWrongEndpointKeepsState(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	other := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(other.Close)
	wrongPath := env.server.URL + "/some/proxy/prefix"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{Config: env.config(stateSafetyBody), Check: stillInState(stateSafetyAddresses...)},
			{
				Config:      providerBlock(other.URL, env.server.AdminKey) + stateSafetyBody,
				ExpectError: wrappedPattern(`This endpoint is not orbit-server`),
			},
			{
				Config:      providerBlock(wrongPath, env.server.AdminKey) + stateSafetyBody,
				ExpectError: wrappedPattern(`This endpoint is not orbit-server`),
			},
			stateHoldsEverything(env),
		},
	})
}

// TestAccKeyWithoutReadKeepsState: a valid key with no read role on the spaces in
// state gets 404 there by design; the plan must fail naming the space and the role,
// and the state must keep every resource.
func TestAccKeyWithoutReadKeepsState(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	elsewhere := env.server.NewSpace(t, "elsewhere", "root", false)
	narrowKey := env.server.NewKey(t, "narrow", servertest.Read(elsewhere))

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{Config: env.config(stateSafetyBody), Check: stillInState(stateSafetyAddresses...)},
			{
				Config:      providerBlock(env.server.URL, narrowKey) + stateSafetyBody,
				ExpectError: wrappedPattern(`API key "narrow" .* has no read role on space "team-`),
			},
			{
				// The default integration lives in root.
				Config:      providerBlock(env.server.URL, narrowKey) + stateSafetyBody,
				ExpectError: wrappedPattern(`has no read role on space "root"`),
			},
			stateHoldsEverything(env),
		},
	})
}

// TestAccDeletedOutsideTerraformIsRecreated: the one case that does remove a
// resource from state — orbit-server's not_found for an object the key can read.
func TestAccDeletedOutsideTerraformIsRecreated(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	var spaceID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config: env.config(`resource "orbit_space" "gone" { name = "gone" }`),
				Check: func(s *terraform.State) error {
					spaceID = s.RootModule().Resources["orbit_space.gone"].Primary.ID
					return nil
				},
			},
			{
				PreConfig: func() {
					if err := env.api.Spaces.Delete(context.Background(), spaceID); err != nil {
						t.Fatal(err)
					}
				},
				Config: env.config(`resource "orbit_space" "gone" { name = "gone" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("orbit_space.gone", plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

// droppingProxy forwards to upstream and, the first time it sees each
// Idempotency-Key (or a POST without one), closes the client's connection after
// upstream answered 201: the create committed and its answer was lost.
type droppingProxy struct {
	upstream string
	mu       sync.Mutex
	dropped  map[string]bool
	drops    int
}

func (p *droppingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), r.Body)
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
	if r.Method == http.MethodPost && resp.StatusCode == http.StatusCreated {
		key := r.Header.Get(orbitapi.IdempotencyKeyHeader)
		p.mu.Lock()
		drop := !p.dropped[key] || key == ""
		p.dropped[key] = true
		if drop {
			p.drops++
		}
		p.mu.Unlock()
		if drop {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
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

// TestAccLostCreateAnswerMakesOneObject: every create's first answer is lost after
// the server committed it. The provider retries with the same Idempotency-Key and
// gets the stored answer: one object each, and a clean state.
func TestAccLostCreateAnswerMakesOneObject(t *testing.T) {
	t.Parallel()
	env := newAccEnv(t)
	proxy := &droppingProxy{upstream: env.server.URL, dropped: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := &httptest.Server{Listener: ln, Config: &http.Server{Handler: proxy}}
	front.Start()
	t.Cleanup(front.Close)

	config := providerBlock(front.URL, env.server.AdminKey) + stateSafetyBody
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: env.factories(),
		Steps: []resource.TestStep{
			{
				Config:           config,
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: resource.ComposeTestCheckFunc(stillInState(stateSafetyAddresses...), func(*terraform.State) error {
					proxy.mu.Lock()
					drops := proxy.drops
					proxy.mu.Unlock()
					if drops != len(stateSafetyAddresses) {
						return fmt.Errorf("the proxy dropped %d answers, want one per create (%d)", drops, len(stateSafetyAddresses))
					}
					return env.expectCounts(map[string]int{"team": 1}, 2)
				}),
			},
			{
				// A second apply creates nothing either.
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            func(*terraform.State) error { return env.expectCounts(map[string]int{"team": 1}, 2) },
			},
		},
	})
}

// expectCounts checks, through the API, how many spaces carry each name and how many
// integrations exist.
func (e *accEnv) expectCounts(spaces map[string]int, integrations int) error {
	ctx := context.Background()
	for name, want := range spaces {
		got, err := e.api.Spaces.ListAll(ctx, orbitapi.ListOptions{Name: name})
		if err != nil {
			return err
		}
		if len(got) != want {
			return fmt.Errorf("%d spaces named %q, want %d", len(got), name, want)
		}
	}
	all, err := e.api.Integrations.ListAll(ctx, orbitapi.IntegrationListOptions{})
	if err != nil {
		return err
	}
	if len(all) != integrations {
		return fmt.Errorf("%d integrations, want %d", len(all), integrations)
	}
	return nil
}
