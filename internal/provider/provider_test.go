package provider

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// objectOf builds a value of typ with the given attributes set and every other one null.
func objectOf(t *testing.T, typ tftypes.Type, set map[string]tftypes.Value) tftypes.Value {
	t.Helper()
	object, ok := typ.(tftypes.Object)
	if !ok {
		t.Fatalf("%v is not an object type", typ)
	}
	values := map[string]tftypes.Value{}
	for name, attrType := range object.AttributeTypes {
		if v, ok := set[name]; ok {
			values[name] = v
		} else {
			values[name] = tftypes.NewValue(attrType, nil)
		}
	}
	for name := range set {
		if _, ok := object.AttributeTypes[name]; !ok {
			t.Fatalf("no attribute %q", name)
		}
	}
	return tftypes.NewValue(object, values)
}

func str(s string) tftypes.Value   { return tftypes.NewValue(tftypes.String, s) }
func boolean(b bool) tftypes.Value { return tftypes.NewValue(tftypes.Bool, b) }

func TestProviderSchemasAreValid(t *testing.T) {
	t.Parallel()
	server := providerserver.NewProtocol6(New("test")())()
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			t.Errorf("schema error: %s: %s", d.Summary, d.Detail)
		}
	}
	for _, name := range []string{"orbit_space", "orbit_bitbucket_cloud_integration", "orbit_bitbucket_datacenter_integration"} {
		s, ok := resp.ResourceSchemas[name]
		if !ok {
			t.Errorf("resource %s is not registered", name)
			continue
		}
		for _, a := range s.Block.Attributes {
			if a.Description == "" {
				t.Errorf("%s.%s has no description", name, a.Name)
			}
			secret := strings.Contains(a.Name, "token") || strings.Contains(a.Name, "password")
			if secret && !strings.HasSuffix(a.Name, "_version") && !a.Sensitive {
				t.Errorf("%s.%s holds a secret but is not Sensitive", name, a.Name)
			}
			if strings.HasSuffix(a.Name, "_wo") && !a.WriteOnly {
				t.Errorf("%s.%s is not WriteOnly", name, a.Name)
			}
		}
	}
}

func TestIntegrationConfigValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cloudType := bitbucketCloudIntegrationSchema().Type().TerraformType(ctx)
	dcType := bitbucketDataCenterIntegrationSchema().Type().TerraformType(ctx)
	tests := []struct {
		name        string
		typeName    string
		typ         tftypes.Type
		set         map[string]tftypes.Value
		wantError   string // substring of an error; "" for none
		wantWarning string // substring of a warning; "" for none
	}{
		{name: "cloud api token", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set: map[string]tftypes.Value{"name": str("main"), "space_id": str("s1"), "email": str("a@example.com"), "api_token": str("t")}},
		{name: "cloud write-only token", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set: map[string]tftypes.Value{"name": str("main"), "is_default": boolean(true), "email": str("a@example.com"), "api_token_wo": str("t"), "api_token_wo_version": tftypes.NewValue(tftypes.Number, 1)}},
		{name: "cloud app password warns", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set:         map[string]tftypes.Value{"name": str("legacy"), "space_id": str("s1"), "username": str("bob"), "app_password": str("p")},
			wantWarning: "stopped accepting app passwords on 2026-07-28"},
		{name: "cloud write-only app password warns", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set:         map[string]tftypes.Value{"name": str("legacy"), "space_id": str("s1"), "username": str("bob"), "app_password_wo": str("p"), "app_password_wo_version": tftypes.NewValue(tftypes.Number, 1)},
			wantWarning: "email and api_token"},
		{name: "cloud no credential", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set:       map[string]tftypes.Value{"name": str("main"), "space_id": str("s1"), "email": str("a@example.com")},
			wantError: "api_token"},
		{name: "cloud token twice", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set:       map[string]tftypes.Value{"name": str("main"), "space_id": str("s1"), "email": str("a@example.com"), "api_token": str("t"), "api_token_wo": str("t")},
			wantError: "api_token_wo"},
		{name: "cloud token without email", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set:       map[string]tftypes.Value{"name": str("main"), "space_id": str("s1"), "api_token": str("t")},
			wantError: "email"},
		{name: "default with space", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set:       map[string]tftypes.Value{"name": str("main"), "is_default": boolean(true), "space_id": str("s1"), "email": str("a@example.com"), "api_token": str("t")},
			wantError: "space_id must not be set when is_default = true"},
		{name: "neither default nor space", typeName: "orbit_bitbucket_cloud_integration", typ: cloudType,
			set:       map[string]tftypes.Value{"name": str("main"), "email": str("a@example.com"), "api_token": str("t")},
			wantError: "or set is_default = true"},
		{name: "dc token", typeName: "orbit_bitbucket_datacenter_integration", typ: dcType,
			set: map[string]tftypes.Value{"name": str("dc"), "space_id": str("s1"), "api_host": str("https://bb.example.com"), "username": str("svc"), "access_token": str("t")}},
		{name: "dc private pool needs user facing host", typeName: "orbit_bitbucket_datacenter_integration", typ: dcType,
			set:       map[string]tftypes.Value{"name": str("dc"), "space_id": str("s1"), "api_host": str("private://pool-1"), "username": str("svc"), "access_token": str("t")},
			wantError: "user_facing_host is required"},
		{name: "dc no token", typeName: "orbit_bitbucket_datacenter_integration", typ: dcType,
			set:       map[string]tftypes.Value{"name": str("dc"), "space_id": str("s1"), "api_host": str("https://bb.example.com"), "username": str("svc")},
			wantError: "access_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server := providerserver.NewProtocol6(New("test")())()
			config, err := tfprotov6.NewDynamicValue(tt.typ, objectOf(t, tt.typ, tt.set))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{
				TypeName: tt.typeName, Config: &config,
				ClientCapabilities: &tfprotov6.ValidateResourceConfigClientCapabilities{WriteOnlyAttributesAllowed: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			var errs, warnings []string
			for _, d := range resp.Diagnostics {
				text := d.Summary + ": " + d.Detail
				if d.Severity == tfprotov6.DiagnosticSeverityError {
					errs = append(errs, text)
				} else {
					warnings = append(warnings, text)
				}
			}
			if tt.wantError == "" && len(errs) > 0 {
				t.Errorf("unexpected errors: %q", errs)
			}
			if tt.wantError != "" && !strings.Contains(strings.Join(errs, "\n"), tt.wantError) {
				t.Errorf("errors %q do not mention %q", errs, tt.wantError)
			}
			if tt.wantWarning == "" && len(warnings) > 0 && tt.wantError == "" {
				t.Errorf("unexpected warnings: %q", warnings)
			}
			if tt.wantWarning != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tt.wantWarning)) {
				t.Errorf("want one warning mentioning %q, got %q", tt.wantWarning, warnings)
			}
		})
	}
}

// configure runs the provider's Configure with the given provider block values.
func configure(t *testing.T, set map[string]tftypes.Value) (provider.ConfigureResponse, *providerData) {
	t.Helper()
	ctx := context.Background()
	p := New("test")()
	var schemaResp provider.SchemaResponse
	p.Schema(ctx, provider.SchemaRequest{}, &schemaResp)
	raw := objectOf(t, schemaResp.Schema.Type().TerraformType(ctx), set)
	var resp provider.ConfigureResponse
	p.Configure(ctx, provider.ConfigureRequest{Config: tfsdk.Config{Raw: raw, Schema: schemaResp.Schema}}, &resp)
	data, _ := resp.ResourceData.(*providerData)
	return resp, data
}

func errorTexts(diags diag.Diagnostics) []string {
	var out []string
	for _, d := range diags.Errors() {
		out = append(out, d.Summary()+": "+d.Detail())
	}
	return out
}

// The configure tests change the environment, so they do not run in parallel.

func TestConfigureMissingValuesNameAttributeAndVariable(t *testing.T) {
	t.Setenv(envEndpoint, "")
	t.Setenv(envAPIKey, "")
	tests := []struct {
		name string
		set  map[string]tftypes.Value
		want []string
	}{
		{"no endpoint", map[string]tftypes.Value{"api_key": str("k")}, []string{"endpoint", envEndpoint}},
		{"no api key", map[string]tftypes.Value{"endpoint": str("http://127.0.0.1:1")}, []string{"api_key", envAPIKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := configure(t, tt.set)
			errs := errorTexts(resp.Diagnostics)
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %q", errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs[0], w) {
					t.Errorf("error %q does not mention %q", errs[0], w)
				}
			}
			if data != nil {
				t.Error("provider data set despite the error")
			}
		})
	}
}

func TestConfigureFromEnvironmentAndProbe(t *testing.T) {
	var sawAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization")
		if r.URL.Path != "/api/v1/whoami" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer good-key" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthenticated","message":"unknown API key"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"k_1","name":"ci","spaces":[{"space_id":"root","name":"root","role":"read"}]}`))
	}))
	t.Cleanup(srv.Close)

	t.Setenv(envEndpoint, srv.URL)
	t.Setenv(envAPIKey, "good-key")
	t.Setenv(envBitbucketCloudEmail, "dev@example.com")
	t.Setenv(envBitbucketCloudAPIToken, "cloud-token")
	t.Setenv(envBitbucketDCToken, "dc-token")

	resp, data := configure(t, map[string]tftypes.Value{})
	if resp.Diagnostics.HasError() || data == nil || data.client == nil {
		t.Fatalf("configure from environment failed: %q", errorTexts(resp.Diagnostics))
	}
	if sawAuth != "Bearer good-key" {
		t.Errorf("probe sent Authorization %q", sawAuth)
	}
	if data.access == nil || data.access.whoami == nil || data.access.whoami.Role("root") != "read" {
		t.Errorf("configure did not keep the key's roles from whoami: %+v", data.access)
	}
	if data.bitbucketCloud != (BitbucketCloudCredentials{APIURL: defaultBitbucketCloudAPIURL, Email: "dev@example.com", APIToken: "cloud-token"}) {
		t.Errorf("cloud credentials = %+v", data.bitbucketCloud)
	}
	if data.bitbucketDataCenter.Token != "dc-token" {
		t.Errorf("dc credentials = %+v", data.bitbucketDataCenter)
	}
	if resp.DataSourceData != data || resp.EphemeralResourceData != data {
		t.Error("data sources and ephemeral resources do not get the provider data")
	}

	// The block wins over the environment.
	dcType := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"api_url": tftypes.String, "token": tftypes.String}}
	_, data = configure(t, map[string]tftypes.Value{
		"bitbucket_datacenter": tftypes.NewValue(dcType, map[string]tftypes.Value{"api_url": str("https://bb.example.com"), "token": str("block-token")}),
	})
	if data == nil || data.bitbucketDataCenter != (BitbucketDataCenterCredentials{APIURL: "https://bb.example.com", Token: "block-token"}) {
		t.Errorf("dc credentials from block = %+v", data)
	}

	// A wrong key: one error on api_key, naming the variable, never the key.
	t.Setenv(envAPIKey, "wrong-key-value")
	resp, _ = configure(t, map[string]tftypes.Value{})
	errs := errorTexts(resp.Diagnostics)
	if len(errs) != 1 || !strings.Contains(errs[0], envAPIKey) || strings.Contains(errs[0], "wrong-key-value") {
		t.Errorf("wrong key errors = %q", errs)
	}
}

func TestConfigureUnreachableEndpoint(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close()
	t.Setenv(envAPIKey, "")

	resp, data := configure(t, map[string]tftypes.Value{"endpoint": str(endpoint), "api_key": str("some-key-value")})
	errs := errorTexts(resp.Diagnostics)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %q", errs)
	}
	for _, want := range []string{"Cannot reach orbit-server", endpoint, envEndpoint} {
		if !strings.Contains(errs[0], want) {
			t.Errorf("error %q does not mention %q", errs[0], want)
		}
	}
	if strings.Contains(errs[0], "some-key-value") || data != nil {
		t.Errorf("error leaks the key or data was set: %q", errs[0])
	}
}

func TestConfigureUnknownValuesDeferToApply(t *testing.T) {
	t.Setenv(envEndpoint, "")
	t.Setenv(envAPIKey, "")
	resp, data := configure(t, map[string]tftypes.Value{
		"endpoint": tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
		"api_key":  str("k"),
	})
	if resp.Diagnostics.HasError() || data != nil {
		t.Fatalf("unknown endpoint: errors %q, data %v", errorTexts(resp.Diagnostics), data)
	}
	var diags diag.Diagnostics
	if requireClient(providerDataFrom(nil, &diags), &diags) != nil || !diags.HasError() ||
		!strings.Contains(errorTexts(diags)[0], envEndpoint) {
		t.Errorf("requireClient without configuration: %q", errorTexts(diags))
	}
}

// TestConfigureRefusesWhatIsNotOrbitServer: any HTTP server that answers 404 (a wrong
// proxy path, another service) used to pass configure, and its 404s then emptied the
// state. It must give one error before any read.
func TestConfigureRefusesWhatIsNotOrbitServer(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"404 everywhere":  http.NotFound,
		"html front page": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>hello</html>")) },
		"other json":      func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"status":"ok"}`)) },
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			t.Setenv(envAPIKey, "")
			resp, data := configure(t, map[string]tftypes.Value{"endpoint": str(srv.URL), "api_key": str("some-key-value")})
			errs := errorTexts(resp.Diagnostics)
			if len(errs) != 1 || !strings.Contains(errs[0], "not orbit-server") || data != nil {
				t.Fatalf("errors = %q, data = %v; want one \"not orbit-server\" error", errs, data)
			}
		})
	}
}
