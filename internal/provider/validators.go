package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsname"
)

// These validators apply orbit-server's own rules (package rules, which the server
// validates with too), so that a bad value fails at plan time, naming the attribute,
// instead of halfway through apply. Lengths count characters, as the server does.
// They are shared by resources, data sources and the provider block.

var (
	labelPattern           = rules.Label
	integrationNamePattern = rules.IntegrationName
)

// vcsChecksValues are the accepted values of vcs_checks, in documentation order.
var vcsChecksValues = rules.VCSChecks

const defaultVCSChecks = rules.DefaultVCSChecks

// labelsValidators checks every element of a labels set.
func labelsValidators() []validator.Set {
	return []validator.Set{
		setvalidator.ValueStringsAre(stringvalidator.RegexMatches(labelPattern,
			"must start with a letter or digit, be at most 63 characters and contain only letters, digits and _ . : / -")),
	}
}

// vcsChecksValidators restricts vcs_checks to the values orbit-server understands.
func vcsChecksValidators() []validator.String {
	return []validator.String{stringvalidator.OneOf(vcsChecksValues...)}
}

// integrationNameValidators: integration names go into the webhook URL path.
func integrationNameValidators() []validator.String {
	return []validator.String{
		stringvalidator.RegexMatches(integrationNamePattern,
			"must be 1-63 characters of lowercase letters, digits, _ and -, starting with a letter or digit (it becomes part of the webhook URL)"),
	}
}

// objectNameValidators: names of spaces and stacks are 1-100 characters, not blank.
func objectNameValidators() []validator.String {
	return []validator.String{
		stringvalidator.UTF8LengthBetween(1, rules.MaxNameLen),
		stringvalidator.RegexMatches(regexp.MustCompile(`\S`), "must not be blank"),
	}
}

// emailValidators: the Atlassian account email used with a Bitbucket Cloud API token.
func emailValidators() []validator.String {
	return []validator.String{ruleValidator{description: "must be an email address, plain, such as dev@example.com", problem: rules.EmailProblem}}
}

// endpointValidator accepts an absolute http:// or https:// URL: the orbit-server root,
// or a Bitbucket API base. Plain http is allowed for servers on loopback.
func endpointValidator() validator.String { return urlValidator{allowHTTP: true} }

// httpsURLValidator accepts an absolute https:// URL without userinfo, query or fragment.
func httpsURLValidator() validator.String { return urlValidator{allowPrivate: false} }

// apiHostValidator accepts what httpsURLValidator accepts, private://<pool> for a
// Bitbucket Data Center reached through a private worker pool, and http:// on a
// loopback host (bitbucket.IsLoopbackHost, as orbit-server does) for a local sandbox.
func apiHostValidator() validator.String {
	return urlValidator{allowPrivate: true, allowLoopbackHTTP: true}
}

// serverURLValidator is httpsURLValidator that also accepts http:// on a loopback host
// (user_facing_host, which defaults to api_host), as orbit-server does.
func serverURLValidator() validator.String { return urlValidator{allowLoopbackHTTP: true} }

type urlValidator struct{ allowPrivate, allowHTTP, allowLoopbackHTTP bool }

func (v urlValidator) Description(context.Context) string {
	if v.allowHTTP {
		return "must be an http:// or https:// URL (no credentials, query or fragment)"
	}
	if v.allowPrivate {
		return "must be an https:// URL (http:// only on a loopback host; no credentials, query or fragment) or private://<pool>"
	}
	if v.allowLoopbackHTTP {
		return "must be an https:// URL (http:// only on a loopback host; no credentials, query or fragment)"
	}
	return "must be an https:// URL (no credentials, query or fragment)"
}

func (v urlValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v urlValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := checkURL(req.ConfigValue.ValueString(), v); problem != "" {
		// Never echo userinfo: https://u:p@host is shown as https://***@host.
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid URL",
			fmt.Sprintf("%s %s, got %q: %s.", req.Path, v.Description(ctx), rules.RedactURL(req.ConfigValue.ValueString()), problem))
	}
}

// ruleValidator applies one of package rules' Problem functions.
type ruleValidator struct {
	description string
	problem     func(string) string
}

func (v ruleValidator) Description(context.Context) string { return v.description }

func (v ruleValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v ruleValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := v.problem(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid value", fmt.Sprintf("%s %s.", req.Path, problem))
	}
}

// checkURL returns why raw is not acceptable, or "" when it is (package rules, as
// orbit-server checks it).
func checkURL(raw string, v urlValidator) string {
	return rules.URLProblem(raw, rules.URLRule{AllowHTTP: v.allowHTTP, AllowPrivate: v.allowPrivate, AllowLoopbackHTTP: v.allowLoopbackHTTP})
}

// Bitbucket names of a stack binding: the rules live in internal/vcsname, which
// orbit-server enforces too. The namespace's product is known only once the
// integration is, so at plan time it must be a workspace slug or a project key.
func namespaceValidators() []validator.String {
	return []validator.String{checkedString{
		description: "must be a Bitbucket Cloud workspace slug (lower case, e.g. acme) or a Bitbucket Data Center project key (upper case, e.g. PLAT, or ~USER)",
		check: func(v string) error {
			if vcsname.CheckNamespace("bitbucket_cloud", v) == nil || vcsname.CheckNamespace("bitbucket_datacenter", v) == nil {
				return nil
			}
			return errors.New("must be a Bitbucket Cloud workspace slug (lower-case letters, digits, _ . and -, e.g. acme) or a Bitbucket Data Center project key (upper case, e.g. PLAT, or ~USER for a personal project)")
		},
	}}
}

func repositoryValidators() []validator.String {
	return []validator.String{checkedString{description: vcsname.RepositorySlugRule, check: vcsname.CheckRepository}}
}

func branchValidators() []validator.String {
	return []validator.String{checkedString{description: vcsname.BranchRule, check: vcsname.CheckBranch}}
}

func projectRootValidators() []validator.String {
	return []validator.String{checkedString{description: vcsname.ProjectRootRule, check: vcsname.CheckProjectRoot}}
}

// checkedString adapts a check function of package vcsname to a string validator.
type checkedString struct {
	description string
	check       func(string) error
}

func (v checkedString) Description(context.Context) string             { return v.description }
func (v checkedString) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v checkedString) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+req.Path.String(),
			fmt.Sprintf("%q %s", req.ConfigValue.ValueString(), err))
	}
}
