package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestURLValidators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value                string
		https, apiHost, endp string // "" = accepted, else a substring of the error
	}{
		{"https://bitbucket.example.com", "", "", ""},
		{"https://bitbucket.example.com:8443/context", "", "", ""},
		{"http://bitbucket.example.com", "scheme must be https", "only on a loopback host", ""},
		// A local Data Center stand-in (the sandbox) may be plain http on loopback only.
		{"http://127.0.0.1:7990", "scheme must be https", "", ""},
		{"http://127.9.9.9/bitbucket", "scheme must be https", "", ""},
		{"http://localhost:7990", "scheme must be https", "", ""},
		{"http://[::1]:7990", "scheme must be https", "", ""},
		{"http://128.0.0.1", "scheme must be https", "only on a loopback host", ""},
		{"http://user:pw@127.0.0.1", "scheme must be https", "credentials", "credentials"},
		{"https://user:pw@bitbucket.example.com", "credentials", "credentials", "credentials"},
		{"https://bitbucket.example.com/?a=b", "query", "query", "query"},
		{"https://bitbucket.example.com/#top", "fragment", "fragment", "fragment"},
		{"https://", "host is missing", "host is missing", "host is missing"},
		{"bitbucket.example.com", "scheme must be https", "scheme must be https", "scheme must be http or https"},
		{"private://pool-1", "scheme must be https", "", "scheme must be http or https"},
		{"private://Pool", "scheme must be https", "pool name", "scheme must be http or https"},
		{"private://", "scheme must be https", "pool name", "scheme must be http or https"},
		// Ports outside 1-65535 used to pass in every URL attribute.
		{"https://bitbucket.example.com:0", "port", "port", "port"},
		{"https://bitbucket.example.com:65536", "port", "port", "port"},
		{"https://bitbucket.example.com:65535", "", "", ""},
	}
	for _, tt := range tests {
		for name, c := range map[string]struct {
			v    validator.String
			want string
		}{"https": {httpsURLValidator(), tt.https}, "api_host": {apiHostValidator(), tt.apiHost}, "endpoint": {endpointValidator(), tt.endp}} {
			var resp validator.StringResponse
			c.v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue(tt.value)}, &resp)
			switch {
			case c.want == "" && resp.Diagnostics.HasError():
				t.Errorf("%s(%q): unexpected error %v", name, tt.value, resp.Diagnostics)
			case c.want != "" && !resp.Diagnostics.HasError():
				t.Errorf("%s(%q): accepted, want an error about %q", name, tt.value, c.want)
			case c.want != "" && !strings.Contains(resp.Diagnostics.Errors()[0].Detail(), c.want):
				t.Errorf("%s(%q): error %q does not mention %q", name, tt.value, resp.Diagnostics.Errors()[0].Detail(), c.want)
			}
		}
	}
	// Unknown and null values are left to later (apply time, or Required).
	for _, v := range []types.String{types.StringUnknown(), types.StringNull()} {
		var resp validator.StringResponse
		apiHostValidator().ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: v}, &resp)
		if resp.Diagnostics.HasError() {
			t.Errorf("%v: %v", v, resp.Diagnostics)
		}
	}
}

func TestNameAndLabelPatterns(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]bool{
		"main": true, "main-cloud_2": true, "0abc": true, strings.Repeat("a", 63): true,
		"": false, "Main": false, "-main": false, "a b": false, "a/b": false, strings.Repeat("a", 64): false,
	} {
		if got := integrationNamePattern.MatchString(value); got != want {
			t.Errorf("integration name %q: match = %v, want %v", value, got, want)
		}
	}
	for value, want := range map[string]bool{
		"team:platform": true, "env/prod": true, "a.b_c-d": true, "A1": true, strings.Repeat("x", 63): true,
		"": false, "-x": false, ":x": false, "a b": false, "a,b": false, strings.Repeat("x", 64): false,
	} {
		if got := labelPattern.MatchString(value); got != want {
			t.Errorf("label %q: match = %v, want %v", value, got, want)
		}
	}
}

// TestServerURLValidator: user_facing_host follows orbit-server's rule: https, or http
// on a loopback host only.
func TestServerURLValidator(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]string{
		"https://bitbucket.example.com": "",
		"http://127.0.0.1:7990":         "",
		"http://localhost:7990":         "",
		"http://bitbucket.example.com":  "only on a loopback host",
		"private://pool-1":              "scheme must be https",
		"https://u:p@bitbucket.example": "credentials",
	} {
		var resp validator.StringResponse
		serverURLValidator().ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue(value)}, &resp)
		switch {
		case want == "" && resp.Diagnostics.HasError():
			t.Errorf("%q: unexpected error %v", value, resp.Diagnostics)
		case want != "" && (!resp.Diagnostics.HasError() || !strings.Contains(resp.Diagnostics.Errors()[0].Detail(), want)):
			t.Errorf("%q: got %v, want an error about %q", value, resp.Diagnostics, want)
		}
	}
}

// TestURLDiagnosticsHideUserinfo: a URL with credentials was echoed whole in the
// diagnostic.
func TestURLDiagnosticsHideUserinfo(t *testing.T) {
	t.Parallel()
	for _, v := range []validator.String{httpsURLValidator(), apiHostValidator(), endpointValidator()} {
		var resp validator.StringResponse
		v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue("https://user:hunter2-password@bitbucket.example.com")}, &resp)
		if !resp.Diagnostics.HasError() {
			t.Fatal("a URL with credentials was accepted")
		}
		detail := resp.Diagnostics.Errors()[0].Detail()
		if strings.Contains(detail, "hunter2") || strings.Contains(detail, "user:") || !strings.Contains(detail, "https://***@bitbucket.example.com") {
			t.Errorf("diagnostic %q echoes the userinfo (want https://***@bitbucket.example.com)", detail)
		}
	}
}

// TestNameLengthInCharacters: a 100-character name of é (200 bytes) was refused by
// the provider ("got: 200") although orbit-server accepts it.
func TestNameLengthInCharacters(t *testing.T) {
	t.Parallel()
	check := func(value string) bool {
		for _, v := range objectNameValidators() {
			var resp validator.StringResponse
			v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("name"), ConfigValue: types.StringValue(value)}, &resp)
			if resp.Diagnostics.HasError() {
				return false
			}
		}
		return true
	}
	if !check(strings.Repeat("é", 100)) {
		t.Error("a 100-character name of é was refused")
	}
	if check(strings.Repeat("é", 101)) {
		t.Error("a 101-character name was accepted")
	}
	var resp validator.StringResponse
	descriptionAttribute().Validators[0].ValidateString(context.Background(), validator.StringRequest{Path: path.Root("description"), ConfigValue: types.StringValue(strings.Repeat("é", 4096))}, &resp)
	if resp.Diagnostics.HasError() {
		t.Error("a 4096-character description of é was refused")
	}
}
