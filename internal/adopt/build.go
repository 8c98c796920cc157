package adopt

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// Planned actions of terraform apply on an address, as the report announces them.
const (
	ActionNone   = "none"
	ActionCreate = "create"
	ActionUpdate = "update"
)

// Finding kinds.
const (
	KindForeignURL         = "foreign_url"
	KindUnknownOrbitURL    = "unknown_orbit_url"
	KindOldURL             = "old_url"
	KindURLSpelling        = "url_spelling"
	KindDuplicate          = "duplicate"
	KindMissingEvents      = "missing_events"
	KindDisabled           = "disabled"
	KindNoSecret           = "no_secret"
	KindSecretDiffers      = "secret_differs"
	KindBoundWithoutHook   = "bound_without_hook"
	KindHookWithoutBinding = "hook_without_binding"
	KindOtherSpace         = "other_space_integration"
	KindBindingDetached    = "binding_detached"
	KindBindingNotScanned  = "binding_not_scanned"
	KindBoundRepoMissing   = "bound_repository_missing"
	KindTokenVariable      = "token_variable"
	KindAppPassword        = "app_password"
)

// Finding is one thing the report tells, with what terraform apply of the output
// does about it.
type Finding struct {
	Kind        string `json:"kind"`
	Repository  string `json:"repository,omitempty"` // namespace/slug
	Provider    string `json:"provider,omitempty"`
	HookID      string `json:"hook_id,omitempty"`
	Integration string `json:"integration,omitempty"` // name
	Stack       string `json:"stack,omitempty"`
	Detail      string `json:"detail"`
	Apply       string `json:"apply"`
	// Address is the Terraform address concerned ("" when the output has none) and
	// Action what apply does to it: none, create or update.
	Address string `json:"address,omitempty"`
	Action  string `json:"action"`
}

// AdoptedIntegration is an integration of the space, imported by the output.
type AdoptedIntegration struct {
	orbitapi.Integration
	ResourceType string // orbit_bitbucket_cloud_integration / orbit_bitbucket_datacenter_integration
	Label        string
	// TokenVariable is the variable holding its write-only token ("" when it has
	// no credential form the provider can write).
	TokenVariable string
}

// Address is the integration's Terraform address.
func (a *AdoptedIntegration) Address() string { return a.ResourceType + "." + a.Label }

// AdoptedStack is a stack of the space and its binding.
type AdoptedStack struct {
	Stack   orbitapi.Stack
	Binding *orbitapi.StackVCSBinding
	Key     string // the for_each key
}

// AdoptedHook is the one hook of a repository for one integration that the output
// manages: an existing one to import, or (Hook nil) one apply creates.
type AdoptedHook struct {
	Integration *orbitapi.Integration
	Adopted     *AdoptedIntegration // nil: an integration of another space
	Provider    string
	Namespace   string
	Slug        string
	Hook        *Hook
	Match       URLMatch
	// Wanted settings: the hook's own, with Orbit's required events added.
	Title    string
	Events   []string // sorted; equal to RequiredEvents when the hook has no others
	SkipCert bool
	Group    *HookGroup
}

// Address is the hook's Terraform address.
func (h *AdoptedHook) Address() string {
	if h.Group.Single {
		return "orbit_bitbucket_repository_webhook." + h.Group.Label
	}
	return "orbit_bitbucket_repository_webhook." + h.Group.Label + "[" + quote(h.Slug) + "]"
}

// Duplicate is an extra hook to the same integration on one repository: the output
// imports Kept, and Dedupe deletes the duplicate.
type Duplicate struct {
	Provider    string `json:"provider"`
	Repository  string `json:"repository"` // namespace/slug
	Namespace   string `json:"-"`
	Slug        string `json:"-"`
	HookID      string `json:"hook_id"`
	URL         string `json:"url"`
	Integration string `json:"integration"`
	KeptHookID  string `json:"kept_hook_id"`
	Deleted     bool   `json:"deleted"`
}

// Summary counts what was scanned and decided.
type Summary struct {
	Repositories        int `json:"repositories_scanned"`
	Hooks               int `json:"hooks_seen"`
	HooksMatched        int `json:"hooks_matched"`
	HooksImported       int `json:"hooks_imported"`
	HooksToCreate       int `json:"hooks_to_create"`
	HooksForeign        int `json:"hooks_foreign"`
	HooksUnknownOrbit   int `json:"hooks_unknown_orbit_url"`
	HooksOtherSpace     int `json:"hooks_other_space"`
	Duplicates          int `json:"duplicate_hooks"`
	Integrations        int `json:"integrations_imported"`
	Stacks              int `json:"stacks_imported"`
	Bindings            int `json:"bindings_imported"`
	RepositoriesNoHooks int `json:"repositories_without_hooks"`
}

// Result is what Build decided: the objects the output adopts, the findings and
// the duplicates.
type Result struct {
	SpaceID      string
	SpaceName    string
	Scanned      []string
	Integrations []*AdoptedIntegration
	Stacks       []*AdoptedStack
	StackLabel   string
	Hooks        []*AdoptedHook
	Groups       []*HookGroup
	Findings     []Finding
	Duplicates   []Duplicate
	Summary      Summary
}

// Build decides what the output adopts from inv. It reads nothing and writes nothing.
func Build(inv *Inventory) *Result {
	r := &Result{SpaceID: inv.SpaceID, SpaceName: inv.SpaceName, Scanned: inv.Scanned}
	b := builder{inv: inv, r: r, matcher: NewMatcher(inv.Integrations), labels: map[string]bool{}}
	b.integrations()
	b.indexBindings()
	b.scanRepositories()
	b.bindingsWithoutHooks()
	b.stacks()
	layoutHooks(r, b.labels)
	b.hookFindings()
	b.integrationFindings()
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, c := r.Findings[i], r.Findings[j]
		if a.Repository != c.Repository {
			return a.Repository < c.Repository
		}
		return a.Kind < c.Kind
	})
	r.Summary.Repositories = len(inv.Repositories)
	r.Summary.Integrations = len(r.Integrations)
	r.Summary.Stacks = len(r.Stacks)
	r.Summary.Duplicates = len(r.Duplicates)
	for _, h := range r.Hooks {
		if h.Hook == nil {
			r.Summary.HooksToCreate++
		} else {
			r.Summary.HooksImported++
		}
	}
	for _, s := range r.Stacks {
		if s.Binding != nil {
			r.Summary.Bindings++
		}
	}
	return r
}

type bindingRef struct {
	stack   *orbitapi.Stack
	binding orbitapi.StackVCSBinding
}

type builder struct {
	inv     *Inventory
	r       *Result
	matcher *Matcher
	labels  map[string]bool // resource labels in use, by type + "." + label

	adopted map[string]*AdoptedIntegration   // by integration id
	bound   map[string][]bindingRef          // by repoKey
	hooks   map[string]*AdoptedHook          // by repoKey + "|" + integration id
	repos   map[string]*Repository           // by repoKey
	scanned map[string]bool                  // provider + "/" + lower(namespace)
	byID    map[string]*orbitapi.Integration // every readable integration
}

func (b *builder) finding(f Finding) { b.r.Findings = append(b.r.Findings, f) }

func (b *builder) integrations() {
	b.adopted = map[string]*AdoptedIntegration{}
	b.byID = map[string]*orbitapi.Integration{}
	for i := range b.inv.Integrations {
		in := &b.inv.Integrations[i]
		b.byID[in.ID] = in
		if in.SpaceID != b.inv.SpaceID {
			continue
		}
		a := &AdoptedIntegration{Integration: *in}
		if in.Provider == orbitapi.ProviderBitbucketDataCenter {
			a.ResourceType = "orbit_bitbucket_datacenter_integration"
		} else {
			a.ResourceType = "orbit_bitbucket_cloud_integration"
		}
		a.Label = uniqueLabel(b.labels, a.ResourceType, ident(in.Name))
		a.TokenVariable = uniqueLabel(b.labels, "variable", ident(in.Name)+"_"+strings.TrimSuffix(tokenAttribute(in), "_wo"))
		b.adopted[in.ID] = a
		b.r.Integrations = append(b.r.Integrations, a)
	}
	sort.Slice(b.r.Integrations, func(i, j int) bool { return b.r.Integrations[i].Address() < b.r.Integrations[j].Address() })
}

// tokenAttribute is the write-only credential attribute of an integration.
func tokenAttribute(in *orbitapi.Integration) string {
	switch {
	case in.Provider == orbitapi.ProviderBitbucketDataCenter:
		return "access_token_wo"
	case orbitapi.String(in.AuthMethod) == orbitapi.AuthMethodAppPassword:
		return "app_password_wo"
	}
	return "api_token_wo"
}

func (b *builder) indexBindings() {
	b.bound = map[string][]bindingRef{}
	for i := range b.inv.Stacks {
		s := &b.inv.Stacks[i]
		bd, ok := b.inv.Bindings[s.ID]
		if !ok {
			continue
		}
		k := repoKey(bd.ProviderType, bd.Namespace, bd.Repository)
		b.bound[k] = append(b.bound[k], bindingRef{stack: s, binding: bd})
	}
}

// boundThrough reports whether a stack of the space is bound to the repository
// through integration id.
func (b *builder) boundThrough(key, integrationID string) bool {
	return slices.ContainsFunc(b.bound[key], func(ref bindingRef) bool { return ref.binding.IntegrationID == integrationID })
}

func (b *builder) scanRepositories() {
	b.hooks = map[string]*AdoptedHook{}
	b.repos = map[string]*Repository{}
	b.scanned = map[string]bool{}
	for _, s := range b.inv.Scanned {
		b.scanned[strings.ToLower(s)] = true
	}
	for i := range b.inv.Repositories {
		repo := &b.inv.Repositories[i]
		key := repoKey(repo.Provider, repo.Namespace, repo.Slug)
		b.repos[key] = repo
		b.r.Summary.Hooks += len(repo.Hooks)
		if len(repo.Hooks) == 0 {
			b.r.Summary.RepositoriesNoHooks++
		}
		where := repo.Namespace + "/" + repo.Slug
		byIntegration := map[string][]candidate{}
		var order []string
		for j := range repo.Hooks {
			h := &repo.Hooks[j]
			in, match := b.matcher.Match(repo.Provider, h.URL)
			switch match {
			case Foreign:
				b.r.Summary.HooksForeign++
				b.finding(Finding{Kind: KindForeignURL, Repository: where, Provider: repo.Provider, HookID: h.ID,
					Detail: fmt.Sprintf("hook %q delivers to %s, which is not an Orbit webhook URL", h.Title, h.URL),
					Apply:  "nothing: the output does not manage it", Action: ActionNone})
				continue
			case UnknownOrbit:
				b.r.Summary.HooksUnknownOrbit++
				b.finding(Finding{Kind: KindUnknownOrbitURL, Repository: where, Provider: repo.Provider, HookID: h.ID,
					Detail: fmt.Sprintf("hook %q delivers to %s, an Orbit webhook URL of no %s integration this API key can read (deleted or renamed?); every delivery to it fails", h.Title, h.URL, productName(repo.Provider)),
					Apply:  "nothing: the output does not manage it; delete it in Bitbucket if no orbit-server uses it", Action: ActionNone})
				continue
			}
			b.r.Summary.HooksMatched++
			if _, seen := byIntegration[in.ID]; !seen {
				order = append(order, in.ID)
			}
			byIntegration[in.ID] = append(byIntegration[in.ID], candidate{hook: h, match: match})
		}
		for _, id := range order {
			b.adoptHooks(repo, key, b.byID[id], byIntegration[id])
		}
	}
}

type candidate struct {
	hook  *Hook
	match URLMatch
}

// adoptHooks keeps the best of a repository's hooks to one integration and records
// the others as duplicates.
func (b *builder) adoptHooks(repo *Repository, key string, in *orbitapi.Integration, cands []candidate) {
	where := repo.Namespace + "/" + repo.Slug
	adopted := b.adopted[in.ID]
	if adopted == nil && !b.boundThrough(key, in.ID) {
		for _, c := range cands {
			b.r.Summary.HooksOtherSpace++
			b.finding(Finding{Kind: KindOtherSpace, Repository: where, Provider: repo.Provider, HookID: c.hook.ID, Integration: in.Name,
				Detail: fmt.Sprintf("hook delivers to integration %q of space %q, and no stack of this space is bound to the repository through it", in.Name, in.SpaceID),
				Apply:  "nothing: adopt it from the configuration of space " + in.SpaceID, Action: ActionNone})
		}
		return
	}
	required := RequiredEvents(repo.Provider)
	sort.SliceStable(cands, func(i, j int) bool { return better(cands[i], cands[j], required) })
	kept := cands[0]
	for _, c := range cands[1:] {
		b.r.Duplicates = append(b.r.Duplicates, Duplicate{Provider: repo.Provider, Repository: where, Namespace: repo.Namespace, Slug: repo.Slug,
			HookID: c.hook.ID, URL: c.hook.URL, Integration: in.Name, KeptHookID: kept.hook.ID})
	}
	h := &AdoptedHook{Integration: in, Adopted: adopted, Provider: repo.Provider, Namespace: repo.Namespace, Slug: repo.Slug,
		Hook: kept.hook, Match: kept.match, Title: kept.hook.Title, SkipCert: kept.hook.SkipCertVerification,
		Events: sortedCopy(append(slices.Clone(required), kept.hook.Events...))}
	if h.Title == "" {
		h.Title = defaultTitle
	}
	b.hooks[key+"|"+in.ID] = h
	b.r.Hooks = append(b.r.Hooks, h)
}

// better orders a repository's hooks to one integration: the one the output keeps
// first. A hook at the exact URL beats one that needs its URL rewritten, an active
// one an inactive one, one with more of Orbit's events one with fewer, then the
// oldest, then the lowest id, so that every run keeps the same hook.
func better(a, b candidate, required []string) bool {
	if a.match != b.match {
		return a.match < b.match
	}
	if a.hook.Active != b.hook.Active {
		return a.hook.Active
	}
	ma, mb := len(missing(required, a.hook.Events)), len(missing(required, b.hook.Events))
	if ma != mb {
		return ma < mb
	}
	if !a.hook.Created.Equal(b.hook.Created) {
		switch {
		case a.hook.Created.IsZero():
			return false
		case b.hook.Created.IsZero():
			return true
		}
		return a.hook.Created.Before(b.hook.Created)
	}
	if len(a.hook.ID) != len(b.hook.ID) {
		return len(a.hook.ID) < len(b.hook.ID) // Data Center ids are numbers
	}
	return a.hook.ID < b.hook.ID
}

// missing are the required events events lacks, sorted.
func missing(required, events []string) []string {
	var out []string
	for _, e := range required {
		if !slices.Contains(events, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// bindingsWithoutHooks plans a hook for every bound repository of a scanned
// namespace that has none to the binding's integration.
func (b *builder) bindingsWithoutHooks() {
	keys := make([]string, 0, len(b.bound))
	for k := range b.bound {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		for _, ref := range b.bound[key] {
			bd := ref.binding
			where := bd.Namespace + "/" + bd.Repository
			if !b.scanned[strings.ToLower(bd.ProviderType+"/"+bd.Namespace)] {
				b.finding(Finding{Kind: KindBindingNotScanned, Repository: where, Provider: bd.ProviderType, Stack: ref.stack.Name,
					Detail: fmt.Sprintf("stack %q is bound to a repository of %s, which this run did not scan, so its hooks were not checked", ref.stack.Name, bd.Namespace),
					Apply:  "nothing to the repository's hooks; run adopt with that workspace or project too", Action: ActionNone})
				continue
			}
			repo := b.repos[key]
			if repo == nil {
				b.finding(Finding{Kind: KindBoundRepoMissing, Repository: where, Provider: bd.ProviderType, Stack: ref.stack.Name,
					Detail: fmt.Sprintf("stack %q is bound to %s, which Bitbucket does not list (deleted, renamed, or not visible to these credentials)", ref.stack.Name, where),
					Apply:  "nothing to hooks; the binding is imported as it is", Action: ActionNone})
				continue
			}
			in := b.byID[bd.IntegrationID]
			if in == nil || b.hooks[key+"|"+in.ID] != nil {
				continue
			}
			h := &AdoptedHook{Integration: in, Adopted: b.adopted[in.ID], Provider: repo.Provider, Namespace: repo.Namespace, Slug: repo.Slug,
				Title: defaultTitle, Events: sortedCopy(RequiredEvents(repo.Provider))}
			b.hooks[key+"|"+in.ID] = h
			b.r.Hooks = append(b.r.Hooks, h)
		}
	}
}

func (b *builder) stacks() {
	b.r.StackLabel = uniqueLabel(b.labels, "orbit_stack", ident(b.inv.SpaceName))
	byName := map[string]int{}
	for _, s := range b.inv.Stacks {
		byName[s.Name]++
	}
	for i := range b.inv.Stacks {
		s := b.inv.Stacks[i]
		a := &AdoptedStack{Stack: s, Key: s.Name}
		if byName[s.Name] > 1 {
			a.Key = s.ID
		}
		if bd, ok := b.inv.Bindings[s.ID]; ok {
			a.Binding = &bd
		}
		b.r.Stacks = append(b.r.Stacks, a)
	}
	sort.Slice(b.r.Stacks, func(i, j int) bool { return b.r.Stacks[i].Key < b.r.Stacks[j].Key })
	for _, s := range b.r.Stacks {
		if s.Binding == nil || s.Binding.Status != orbitapi.BindingDetached {
			continue
		}
		b.finding(Finding{Kind: KindBindingDetached, Repository: s.Binding.Namespace + "/" + s.Binding.Repository, Provider: s.Binding.ProviderType, Stack: s.Stack.Name,
			Detail: fmt.Sprintf("the binding of stack %q is detached (%s): the stack takes no webhooks", s.Stack.Name, s.Binding.DetachedReason),
			Apply:  "re-attaches it to integration " + s.Binding.IntegrationID, Address: b.r.bindingAddress(s), Action: ActionUpdate})
	}
}

func (r *Result) stackAddress(s *AdoptedStack) string {
	return "orbit_stack." + r.StackLabel + "[" + quote(s.Key) + "]"
}

func (r *Result) bindingAddress(s *AdoptedStack) string {
	return "orbit_stack_vcs_binding." + r.StackLabel + "[" + quote(s.Key) + "]"
}

// hookFindings reports, for every hook the output manages, what apply changes.
func (b *builder) hookFindings() {
	for _, h := range b.r.Hooks {
		where := h.Namespace + "/" + h.Slug
		f := Finding{Repository: where, Provider: h.Provider, Integration: h.Integration.Name, Address: h.Address()}
		key := repoKey(h.Provider, h.Namespace, h.Slug)
		if h.Hook == nil {
			f.Kind, f.Action = KindBoundWithoutHook, ActionCreate
			f.Detail = fmt.Sprintf("stacks are bound to the repository through integration %q, but it has no hook to it: pushes start no runs", h.Integration.Name)
			f.Apply = "creates the hook with the integration's URL, secret and events"
			b.finding(f)
			continue
		}
		f.HookID = h.Hook.ID
		add := func(kind, action, detail, apply string) {
			g := f
			g.Kind, g.Action, g.Detail, g.Apply = kind, action, detail, apply
			b.finding(g)
		}
		switch h.Match {
		case Old:
			add(KindOldURL, ActionUpdate, fmt.Sprintf("hook delivers to %s, an old URL of integration %q", h.Hook.URL, h.Integration.Name),
				"rewrites the URL to "+h.Integration.WebhookURL)
		case Equivalent:
			add(KindURLSpelling, ActionUpdate, fmt.Sprintf("hook URL %s is the integration's URL written differently", h.Hook.URL),
				"rewrites the URL to "+h.Integration.WebhookURL)
		}
		if !h.Hook.Active {
			add(KindDisabled, ActionUpdate, "hook is disabled: Bitbucket delivers nothing", "enables it")
		}
		if m := missing(RequiredEvents(h.Provider), h.Hook.Events); len(m) > 0 {
			add(KindMissingEvents, ActionUpdate, "hook lacks events Orbit needs: "+strings.Join(m, ", "), "adds "+strings.Join(m, ", "))
		}
		switch {
		case h.Hook.SecretSet != nil && !*h.Hook.SecretSet:
			add(KindNoSecret, ActionUpdate, "hook has no secret: orbit-server rejects its unsigned deliveries", "installs the integration's webhook secret")
		case h.Hook.SecretFingerprint != "" && h.Hook.SecretFingerprint != h.Integration.WebhookSecretFingerprint:
			add(KindSecretDiffers, ActionUpdate, "hook's secret is not the integration's: orbit-server rejects its deliveries", "installs the integration's webhook secret")
		}
		if !b.boundThrough(key, h.Integration.ID) {
			add(KindHookWithoutBinding, ActionNone, fmt.Sprintf("no stack of space %q is bound to the repository through integration %q: its deliveries start no runs", b.inv.SpaceID, h.Integration.Name),
				"imports and keeps the hook; remove its entry (and import) from the output to leave it unmanaged")
		}
	}
	for _, d := range b.r.Duplicates {
		b.finding(Finding{Kind: KindDuplicate, Repository: d.Repository, Provider: d.Provider, HookID: d.HookID, Integration: d.Integration,
			Detail: fmt.Sprintf("another hook to integration %q on the repository (the output imports %s): every event is delivered twice", d.Integration, d.KeptHookID),
			Apply:  "nothing: the duplicate stays in Bitbucket, unmanaged; orbit adopt --dedupe deletes it", Action: ActionNone})
	}
}

func (b *builder) integrationFindings() {
	for _, a := range b.r.Integrations {
		attr := tokenAttribute(&a.Integration)
		b.finding(Finding{Kind: KindTokenVariable, Integration: a.Name, Provider: a.Provider, Address: a.Address(), Action: ActionUpdate,
			Detail: fmt.Sprintf("orbit-server never returns the integration's credential; the output takes it from variable %q", a.TokenVariable),
			Apply:  fmt.Sprintf("sends the credential of var.%s to orbit-server once (%s_version goes from unset to 1); nothing else changes", a.TokenVariable, attr)})
		if orbitapi.String(a.AuthMethod) == orbitapi.AuthMethodAppPassword {
			b.finding(Finding{Kind: KindAppPassword, Integration: a.Name, Provider: a.Provider, Address: a.Address(), Action: ActionUpdate,
				Detail: "the integration uses a Bitbucket app password, which Bitbucket no longer accepts",
				Apply:  "sends the app password again; replace username and app_password_wo with email and api_token_wo to move to an API token"})
		}
	}
}

func productName(provider string) string {
	if provider == orbitapi.ProviderBitbucketDataCenter {
		return "Bitbucket Data Center"
	}
	return "Bitbucket Cloud"
}

const defaultTitle = "Orbit"
