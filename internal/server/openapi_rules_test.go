package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
)

// TestOpenAPIRulesMatchPackageRules holds openapi.json to package rules, the one
// source the server and the provider validate with: every pattern, enum and length
// the document gives a property equals the package's. Each rule must be found in the
// document at least once, so the test cannot pass on a document that dropped them.
func TestOpenAPIRulesMatchPackageRules(t *testing.T) {
	t.Parallel()
	type want struct {
		pattern   string
		enum      []string
		maxLength int
		itemsPat  string // pattern of array items
	}
	byProperty := map[string]want{
		"labels":           {itemsPat: rules.LabelPattern},
		"description":      {maxLength: rules.MaxDescriptionLen},
		"vcs_checks":       {enum: rules.VCSChecks},
		"role":             {enum: rules.Roles},
		"provider":         {enum: rules.Providers},
		"provider_type":    {enum: rules.Providers},
		"email":            {maxLength: rules.MaxEmailLen},
		"username":         {maxLength: rules.MaxUsernameLen},
		"api_token":        {maxLength: rules.MaxCredentialLen},
		"app_password":     {maxLength: rules.MaxCredentialLen},
		"access_token":     {maxLength: rules.MaxCredentialLen},
		"api_host":         {maxLength: rules.MaxURLLen},
		"user_facing_host": {maxLength: rules.MaxURLLen},
		"space_id":         {maxLength: rules.MaxIDLen},
		"parent_space_id":  {maxLength: rules.MaxIDLen},
	}
	// name differs by object: integrations have a pattern, the others a length.
	bySchemaProperty := map[string]want{
		"IntegrationInput.name":  {pattern: rules.IntegrationNamePattern},
		"VCSAgentPoolInput.name": {pattern: rules.PoolPattern},
		"SpaceInput.name":        {maxLength: rules.MaxNameLen},
		"StackInput.name":        {maxLength: rules.MaxNameLen},
		"APIKeyInput.name":       {maxLength: rules.MaxNameLen},
	}

	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Pattern   string   `json:"pattern"`
					Enum      []string `json:"enum"`
					MaxLength *int     `json:"maxLength"`
					Items     *struct {
						Pattern string `json:"pattern"`
					} `json:"items"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(server.OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for schemaName, schema := range doc.Components.Schemas {
		for prop, got := range schema.Properties {
			key := schemaName + "." + prop
			w, ok := bySchemaProperty[key]
			if !ok {
				if w, ok = byProperty[prop]; !ok {
					continue
				}
				key = prop
			}
			where := fmt.Sprintf("openapi.json %s.%s", schemaName, prop)
			if w.pattern != "" && got.Pattern != "" {
				seen[key+" pattern"] = true
				if got.Pattern != w.pattern {
					t.Errorf("%s pattern %q, rules has %q", where, got.Pattern, w.pattern)
				}
			}
			if w.itemsPat != "" && got.Items != nil && got.Items.Pattern != "" {
				seen[key+" items"] = true
				if got.Items.Pattern != w.itemsPat {
					t.Errorf("%s items pattern %q, rules has %q", where, got.Items.Pattern, w.itemsPat)
				}
			}
			if w.enum != nil && got.Enum != nil {
				seen[key+" enum"] = true
				if !slices.Equal(got.Enum, w.enum) {
					t.Errorf("%s enum %q, rules has %q", where, got.Enum, w.enum)
				}
			}
			if w.maxLength != 0 && got.MaxLength != nil {
				seen[key+" maxLength"] = true
				if *got.MaxLength != w.maxLength {
					t.Errorf("%s maxLength %d, rules has %d", where, *got.MaxLength, w.maxLength)
				}
			}
		}
	}
	for key, w := range byProperty {
		for kind, set := range map[string]bool{"pattern": w.pattern != "", "items": w.itemsPat != "", "enum": w.enum != nil, "maxLength": w.maxLength != 0} {
			if set && !seen[key+" "+kind] {
				t.Errorf("openapi.json gives no property %q a %s; rules has one", key, kind)
			}
		}
	}
	for key, w := range bySchemaProperty {
		for kind, set := range map[string]bool{"pattern": w.pattern != "", "maxLength": w.maxLength != 0} {
			if set && !seen[key+" "+kind] {
				t.Errorf("openapi.json %s has no %s; rules has one", key, kind)
			}
		}
	}
}
