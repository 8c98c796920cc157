package server_test

import (
	"encoding/json"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

// TestOpenAPIProjectGlobsMatchRule holds the document's limits of
// additional_project_globs to internal/vcsname, where the server and the provider
// check them.
func TestOpenAPIProjectGlobsMatchRule(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					MaxItems *int `json:"maxItems"`
					Items    *struct {
						MaxLength *int `json:"maxLength"`
					} `json:"items"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(server.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	found := 0
	for name, schema := range doc.Components.Schemas {
		prop, ok := schema.Properties["additional_project_globs"]
		if !ok || prop.MaxItems == nil {
			continue
		}
		found++
		if *prop.MaxItems != vcsname.MaxProjectGlobs {
			t.Errorf("%s.additional_project_globs maxItems = %d, want %d", name, *prop.MaxItems, vcsname.MaxProjectGlobs)
		}
		if prop.Items == nil || prop.Items.MaxLength == nil || *prop.Items.MaxLength != vcsname.MaxProjectGlobLen {
			t.Errorf("%s.additional_project_globs items maxLength, want %d", name, vcsname.MaxProjectGlobLen)
		}
	}
	if found == 0 {
		t.Fatal("no input schema gives additional_project_globs its limits")
	}
}
