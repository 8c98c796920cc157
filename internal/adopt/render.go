package adopt

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitenv"
)

// Files the output consists of, besides the report.
const (
	FileVersions     = "versions.tf"
	FileVariables    = "variables.tf"
	FileIntegrations = "integrations.tf"
	FileStacks       = "stacks.tf"
	FileWebhooks     = "webhooks.tf"
)

// Render writes the Terraform configuration of r: file name -> content, formatted as
// terraform fmt does. Files with nothing to say are left out, except versions.tf.
func Render(r *Result) map[string][]byte {
	files := map[string][]byte{FileVersions: format(renderVersions())}
	if len(r.Integrations) > 0 {
		files[FileVariables] = format(renderVariables(r))
		files[FileIntegrations] = format(renderIntegrations(r))
	}
	if len(r.Stacks) > 0 {
		files[FileStacks] = format(renderStacks(r))
	}
	if len(r.Groups) > 0 {
		files[FileWebhooks] = format(renderWebhooks(r))
	}
	return files
}

func format(s string) []byte { return hclwrite.Format([]byte(s)) }

func renderVersions() string {
	return `# Written by orbit adopt.
terraform {
  # import blocks with for_each need 1.7; write-only token attributes need 1.11.
  required_version = ">= 1.11"

  required_providers {
    orbit = {
      source = "orbit-iac/orbit"
    }
  }
}

# Configured from the environment, as orbit adopt was: ` + orbitenv.Endpoint + `, ` + orbitenv.APIKey + `,
# ` + orbitenv.BitbucketCloudEmail + ` and ` + orbitenv.BitbucketCloudAPIToken + ` (` + orbitenv.BitbucketCloudAPIURL + `),
# ` + orbitenv.BitbucketDCToken + ` (` + orbitenv.BitbucketDCAPIURL + `).
provider "orbit" {}
`
}

func renderVariables(r *Result) string {
	var b strings.Builder
	for i, a := range r.Integrations {
		if i > 0 {
			b.WriteString("\n")
		}
		what := "API token of Bitbucket Cloud integration " + a.Name
		switch tokenAttribute(&a.Integration) {
		case "access_token_wo":
			what = "HTTP access token (of user " + orbitapi.String(a.Username) + ") of Bitbucket Data Center integration " + a.Name
		case "app_password_wo":
			what = "App password (of user " + orbitapi.String(a.Username) + ") of Bitbucket Cloud integration " + a.Name
		default:
			if orbitapi.String(a.Email) != "" {
				what = "Atlassian API token (of " + orbitapi.String(a.Email) + ") of Bitbucket Cloud integration " + a.Name
			}
		}
		fmt.Fprintf(&b, "variable %s {\n", quote(a.TokenVariable))
		fmt.Fprintf(&b, "  description = %s\n", quote(what+". Write-only: sent to orbit-server, never stored in state or plan files."))
		b.WriteString("  type        = string\n  sensitive   = true\n  ephemeral   = true\n}\n")
	}
	return b.String()
}

func renderIntegrations(r *Result) string {
	var b strings.Builder
	for i, a := range r.Integrations {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "resource %s %s {\n", quote(a.ResourceType), quote(a.Label))
		attr(&b, "name", quote(a.Name))
		if a.IsDefault {
			attr(&b, "is_default", "true")
		} else {
			attr(&b, "space_id", quote(a.SpaceID))
		}
		if a.Description != "" {
			attr(&b, "description", quote(a.Description))
		}
		if len(a.Labels) > 0 {
			attr(&b, "labels", list(sortedCopy(a.Labels)))
		}
		if a.VCSChecks != "" && a.VCSChecks != "individual" {
			attr(&b, "vcs_checks", quote(a.VCSChecks))
		}
		token := tokenAttribute(&a.Integration)
		switch token {
		case "access_token_wo":
			attr(&b, "api_host", quote(orbitapi.String(a.APIHost)))
			if orbitapi.String(a.UserFacingHost) != "" && orbitapi.String(a.UserFacingHost) != orbitapi.String(a.APIHost) {
				attr(&b, "user_facing_host", quote(orbitapi.String(a.UserFacingHost)))
			}
			attr(&b, "username", quote(orbitapi.String(a.Username)))
			if orbitapi.Bool(a.UseGitCheckout) {
				attr(&b, "use_git_checkout", "true")
			}
		case "app_password_wo":
			attr(&b, "username", quote(orbitapi.String(a.Username)))
		default:
			attr(&b, "email", quote(orbitapi.String(a.Email)))
		}
		b.WriteString("\n  # Write-only: orbit-server never returns it. Raise the version to send a new value.\n")
		attr(&b, token, "var."+a.TokenVariable)
		attr(&b, token+"_version", "1")
		b.WriteString("}\n\n")
		fmt.Fprintf(&b, "import {\n  to = %s\n  id = %s\n}\n", a.Address(), quote(a.ID))
	}
	return b.String()
}

// integrationRef is how a block refers to an integration: the adopted resource's id,
// else its id as a literal (an integration of another space).
func integrationRef(adopted *AdoptedIntegration, in *orbitapi.Integration) string {
	if adopted != nil {
		return adopted.Address() + ".id"
	}
	return quote(in.ID)
}

func renderStacks(r *Result) string {
	var b strings.Builder
	adopted := map[string]*AdoptedIntegration{}
	for _, a := range r.Integrations {
		adopted[a.ID] = a
	}
	ref := func(id string) string {
		if a := adopted[id]; a != nil {
			return a.Address() + ".id"
		}
		return quote(id)
	}
	// Attributes per stack, as HCL expressions; null stands for the provider's
	// default. An attribute with one value for every stack goes in the block.
	type column struct {
		name   string // in the locals entry
		attr   string // resource attribute
		values []string
	}
	var stackCols, bindingCols []*column
	col := func(cols *[]*column, name, attribute string) *column {
		c := &column{name: name, attr: attribute}
		*cols = append(*cols, c)
		return c
	}
	name := col(&stackCols, "name", "name")
	description := col(&stackCols, "description", "description")
	labels := col(&stackCols, "labels", "labels")
	integration := col(&bindingCols, "integration_id", "integration_id")
	namespace := col(&bindingCols, "namespace", "namespace")
	repository := col(&bindingCols, "repository", "repository")
	branch := col(&bindingCols, "branch", "branch")
	root := col(&bindingCols, "project_root", "project_root")
	globs := col(&bindingCols, "additional_project_globs", "additional_project_globs")
	prRuns := col(&bindingCols, "pull_request_runs", "pull_request_runs")
	bound := 0
	for _, s := range r.Stacks {
		name.values = append(name.values, quote(s.Stack.Name))
		description.values = append(description.values, orNull(s.Stack.Description != "", quote(s.Stack.Description)))
		labels.values = append(labels.values, orNull(len(s.Stack.Labels) > 0, list(sortedCopy(s.Stack.Labels))))
		if s.Binding == nil {
			for _, c := range bindingCols {
				c.values = append(c.values, "null")
			}
			continue
		}
		bound++
		bd := s.Binding
		integration.values = append(integration.values, ref(bd.IntegrationID))
		namespace.values = append(namespace.values, quote(bd.Namespace))
		repository.values = append(repository.values, quote(bd.Repository))
		branch.values = append(branch.values, orNull(bd.Branch != "main", quote(bd.Branch)))
		root.values = append(root.values, orNull(bd.ProjectRoot != "", quote(bd.ProjectRoot)))
		globs.values = append(globs.values, orNull(len(bd.AdditionalProjectGlobs) > 0, list(bd.AdditionalProjectGlobs)))
		prRuns.values = append(prRuns.values, orNull(!bd.PullRequestRuns, "false"))
	}
	keyIsName := true
	for _, s := range r.Stacks {
		keyIsName = keyIsName && s.Key == s.Stack.Name
	}
	// shared: the one value of a column when every stack (with a binding, for
	// binding columns) has it.
	shared := func(c *column, onlyBound bool) (string, bool) {
		var v string
		for i, s := range r.Stacks {
			if onlyBound && s.Binding == nil {
				continue
			}
			if v == "" {
				v = c.values[i]
			} else if v != c.values[i] {
				return "", false
			}
		}
		return v, true
	}
	type entryCol struct {
		c     *column
		local bool
		value string
	}
	// keyed: the column holds every (bound) stack's key, so each.key says it.
	keyed := func(c *column, onlyBound bool) bool {
		for i, s := range r.Stacks {
			if (!onlyBound || s.Binding != nil) && c.values[i] != quote(s.Key) {
				return false
			}
		}
		return true
	}
	var cols []entryCol
	for _, c := range stackCols {
		v, ok := shared(c, false)
		if c == name && keyIsName {
			ok, v = true, "each.key"
		}
		cols = append(cols, entryCol{c: c, local: !ok, value: v})
	}
	for _, c := range bindingCols {
		v, ok := shared(c, true)
		if !ok && c == repository && bound == len(r.Stacks) && keyed(c, true) {
			ok, v = true, "each.key"
		}
		cols = append(cols, entryCol{c: c, local: !ok, value: v})
	}
	// The binding's filter needs a column that is null exactly for unbound stacks.
	if bound > 0 && bound < len(r.Stacks) {
		for i := range cols {
			if cols[i].c == repository {
				cols[i].local = true
			}
		}
	}
	local := "stacks"
	b.WriteString("# Stacks of space " + r.SpaceName + " (" + r.SpaceID + ") and their VCS bindings.\n")
	b.WriteString("# Each entry holds what differs between stacks; null means the provider's default.\n")
	b.WriteString("locals {\n  " + local + " = {\n")
	for i, s := range r.Stacks {
		parts := []string{"id = " + quote(s.Stack.ID)}
		for _, ec := range cols {
			if ec.local {
				parts = append(parts, ec.c.name+" = "+ec.c.values[i])
			}
		}
		fmt.Fprintf(&b, "    %s = { %s }\n", quote(s.Key), strings.Join(parts, ", "))
	}
	b.WriteString("  }\n}\n\n")

	writeAttrs := func(from int, to int) {
		for _, ec := range cols[from:to] {
			switch {
			case ec.local:
				attr(&b, ec.c.attr, "each.value."+ec.c.name)
			case ec.value != "null" && ec.value != "":
				attr(&b, ec.c.attr, ec.value)
			}
		}
	}
	fmt.Fprintf(&b, "resource \"orbit_stack\" %s {\n  for_each = local.%s\n\n", quote(r.StackLabel), local)
	attr(&b, "space_id", quote(r.SpaceID))
	writeAttrs(0, len(stackCols))
	b.WriteString("}\n\n")
	fmt.Fprintf(&b, "import {\n  for_each = local.%s\n  to       = orbit_stack.%s[each.key]\n  id       = each.value.id\n}\n", local, r.StackLabel)
	if bound == 0 {
		return b.String()
	}
	forEach := "local." + local
	if bound < len(r.Stacks) {
		forEach = "{ for key, stack in local." + local + " : key => stack if stack.repository != null }"
	}
	fmt.Fprintf(&b, "\nresource \"orbit_stack_vcs_binding\" %s {\n  for_each = %s\n\n", quote(r.StackLabel), forEach)
	attr(&b, "stack_id", "orbit_stack."+r.StackLabel+"[each.key].id")
	writeAttrs(len(stackCols), len(cols))
	b.WriteString("}\n\n")
	fmt.Fprintf(&b, "import {\n  for_each = %s\n  to       = orbit_stack_vcs_binding.%s[each.key]\n  id       = each.value.id\n}\n", forEach, r.StackLabel)
	return b.String()
}

func renderWebhooks(r *Result) string {
	var b strings.Builder
	for i, g := range r.Groups {
		if i > 0 {
			b.WriteString("\n")
		}
		h0 := g.Hooks[0]
		in := h0.Integration
		where := productName(g.Provider) + " " + map[bool]string{true: "project", false: "workspace"}[g.Provider == orbitapi.ProviderBitbucketDataCenter] + " " + g.Namespace
		if g.Single {
			h := h0
			fmt.Fprintf(&b, "# %s/%s: settings unlike the other hooks of integration %s.\n", g.Namespace, h.Slug, in.Name)
			fmt.Fprintf(&b, "resource \"orbit_bitbucket_repository_webhook\" %s {\n", quote(g.Label))
			attr(&b, "integration_id", integrationRef(h.Adopted, in))
			attr(&b, "namespace", quote(g.Namespace))
			attr(&b, "repository", quote(h.Slug))
			hookSettings(&b, g)
			b.WriteString("}\n")
			if h.Hook != nil {
				fmt.Fprintf(&b, "\nimport {\n  to = orbit_bitbucket_repository_webhook.%s\n  id = %s\n}\n", g.Label, quote(in.ID+"/"+g.Namespace+"/"+h.Slug+"/"+h.Hook.ID))
			}
			continue
		}
		local := g.Label + "_hooks"
		creates := 0
		for _, h := range g.Hooks {
			if h.Hook == nil {
				creates++
			}
		}
		fmt.Fprintf(&b, "# Repositories of %s with a hook to integration %s:\n", where, in.Name)
		b.WriteString("# the id of the hook to import, or null where apply creates the hook.\n")
		fmt.Fprintf(&b, "locals {\n  %s = {\n", local)
		for _, h := range g.Hooks {
			id := "null"
			if h.Hook != nil {
				id = quote(h.Hook.ID)
			}
			fmt.Fprintf(&b, "    %s = %s\n", quote(h.Slug), id)
		}
		b.WriteString("  }\n}\n\n")
		fmt.Fprintf(&b, "resource \"orbit_bitbucket_repository_webhook\" %s {\n  for_each = local.%s\n\n", quote(g.Label), local)
		attr(&b, "integration_id", integrationRef(h0.Adopted, in))
		attr(&b, "namespace", quote(g.Namespace))
		attr(&b, "repository", "each.key")
		hookSettings(&b, g)
		b.WriteString("}\n")
		if creates == len(g.Hooks) {
			continue
		}
		forEach := "local." + local
		if creates > 0 {
			forEach = "{ for repository, hook_id in local." + local + " : repository => hook_id if hook_id != null }"
		}
		fmt.Fprintf(&b, "\nimport {\n  for_each = %s\n  to       = orbit_bitbucket_repository_webhook.%s[each.key]\n  id       = %s\n}\n",
			forEach, g.Label, templateQuote(in.ID+"/"+g.Namespace+"/", "${each.key}/${each.value}"))
	}
	return b.String()
}

func hookSettings(b *strings.Builder, g *HookGroup) {
	if g.Title != defaultTitle {
		attr(b, "title", quote(g.Title))
	}
	if !slices.Equal(g.Events, sortedCopy(RequiredEvents(g.Provider))) {
		attr(b, "events", list(g.Events))
	}
	if g.SkipCert {
		attr(b, "skip_cert_verification", "true")
	}
}

func attr(b *strings.Builder, name, value string) {
	fmt.Fprintf(b, "  %s = %s\n", name, value)
}

func orNull(set bool, value string) string {
	if set {
		return value
	}
	return "null"
}

func list(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = quote(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// quote writes s as an HCL string literal: escapes, and template sequences (${,
// %{) doubled so that they stay literal text.
func quote(s string) string {
	return `"` + escape(s) + `"`
}

// templateQuote is a string literal of the literal prefix followed by template, an
// interpolation sequence written as is.
func templateQuote(prefix, template string) string {
	return `"` + escape(prefix) + template + `"`
}

func escape(s string) string {
	var b strings.Builder
	for i, c := range s {
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '$', '%':
			b.WriteRune(c)
			if i+1 < len(s) && s[i+1] == '{' {
				b.WriteRune(c)
			}
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteRune(c)
			}
		}
	}
	return b.String()
}
