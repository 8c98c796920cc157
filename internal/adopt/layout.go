package adopt

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// HookGroup is one orbit_bitbucket_repository_webhook block: a for_each over the
// repositories whose hooks share settings, or (Single) one odd hook.
type HookGroup struct {
	Label    string
	Single   bool
	Provider string
	// Namespace is the workspace or project of every hook of the group.
	Namespace string
	Hooks     []*AdoptedHook // sorted by slug
	// Shared settings.
	Title    string
	Events   []string
	SkipCert bool
}

// minForEachGroup is the smallest set of hooks with their own settings that gets a
// for_each block of its own; fewer odd hooks get one block each.
const minForEachGroup = 3

// settingsKey identifies what a group shares besides integration and namespace.
func (h *AdoptedHook) settingsKey() string {
	return fmt.Sprintf("%q|%q|%t", h.Title, h.Events, h.SkipCert)
}

func isDefaultSettings(h *AdoptedHook) bool {
	return h.Title == defaultTitle && !h.SkipCert && slices.Equal(h.Events, sortedCopy(RequiredEvents(h.Provider)))
}

// layoutHooks groups r.Hooks into blocks. Per integration and namespace, the
// settings most hooks share make the main for_each (which also receives the hooks
// apply creates); other settings shared by at least minForEachGroup hooks get a
// for_each of their own, and the odd ones a block each.
func layoutHooks(r *Result, labels map[string]bool) {
	type scope struct{ integration, provider, namespace string }
	byScope := map[scope][]*AdoptedHook{}
	namespaces := map[string]map[string]bool{} // integration id -> namespaces
	var scopes []scope
	for _, h := range r.Hooks {
		s := scope{h.Integration.ID, h.Provider, h.Namespace}
		if _, ok := byScope[s]; !ok {
			scopes = append(scopes, s)
		}
		byScope[s] = append(byScope[s], h)
		if namespaces[h.Integration.ID] == nil {
			namespaces[h.Integration.ID] = map[string]bool{}
		}
		namespaces[h.Integration.ID][h.Namespace] = true
	}
	sort.Slice(scopes, func(i, j int) bool {
		a, b := byScope[scopes[i]][0], byScope[scopes[j]][0]
		return a.Integration.Name+"/"+a.Provider+"/"+a.Namespace < b.Integration.Name+"/"+b.Provider+"/"+b.Namespace
	})
	for _, s := range scopes {
		hooks := byScope[s]
		sort.Slice(hooks, func(i, j int) bool { return hooks[i].Slug < hooks[j].Slug })
		base := ident(hooks[0].Integration.Name)
		if len(namespaces[s.integration]) > 1 {
			base += "_" + ident(s.namespace)
		}
		// Partition the existing hooks by settings.
		parts := map[string][]*AdoptedHook{}
		var keys []string
		var creates []*AdoptedHook
		for _, h := range hooks {
			if h.Hook == nil {
				creates = append(creates, h)
				continue
			}
			k := h.settingsKey()
			if _, ok := parts[k]; !ok {
				keys = append(keys, k)
			}
			parts[k] = append(parts[k], h)
		}
		// The main partition: the largest; on a tie the default settings, then the
		// first in key order.
		sort.SliceStable(keys, func(i, j int) bool {
			a, b := parts[keys[i]], parts[keys[j]]
			if len(a) != len(b) {
				return len(a) > len(b)
			}
			if da, db := isDefaultSettings(a[0]), isDefaultSettings(b[0]); da != db {
				return da
			}
			return keys[i] < keys[j]
		})
		var main []*AdoptedHook
		if len(keys) > 0 {
			main = parts[keys[0]]
			keys = keys[1:]
		}
		main = append(main, creates...)
		sort.Slice(main, func(i, j int) bool { return main[i].Slug < main[j].Slug })
		template := main[0]
		if template.Hook == nil && len(main) > 1 {
			// Creates take the settings of the hooks already there.
			for _, h := range main {
				if h.Hook != nil {
					template = h
					break
				}
			}
		}
		for _, h := range creates {
			h.Title, h.Events, h.SkipCert = template.Title, template.Events, template.SkipCert
		}
		addGroup(r, labels, base, false, main)
		n := 2
		for _, k := range keys {
			if part := parts[k]; len(part) >= minForEachGroup {
				addGroup(r, labels, fmt.Sprintf("%s_%d", base, n), false, part)
				n++
				continue
			}
			for _, h := range parts[k] {
				addGroup(r, labels, base+"_"+ident(h.Slug), true, []*AdoptedHook{h})
			}
		}
	}
}

func addGroup(r *Result, labels map[string]bool, label string, single bool, hooks []*AdoptedHook) {
	g := &HookGroup{
		Label: uniqueLabel(labels, "orbit_bitbucket_repository_webhook", label), Single: single,
		Provider: hooks[0].Provider, Namespace: hooks[0].Namespace, Hooks: hooks,
		Title: hooks[0].Title, Events: hooks[0].Events, SkipCert: hooks[0].SkipCert,
	}
	for _, h := range hooks {
		h.Group = g
	}
	r.Groups = append(r.Groups, g)
}

// ident turns a name into a Terraform identifier: lower-case letters, digits and
// underscores, starting with a letter.
func ident(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		switch {
		case c < unicode.MaxASCII && (unicode.IsLetter(c) || unicode.IsDigit(c)):
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "x_" + s
	}
	return strings.TrimSuffix(s, "_")
}

// uniqueLabel returns label, or label_2, label_3, … when kind+label is taken, and
// marks the result taken.
func uniqueLabel(labels map[string]bool, kind, label string) string {
	candidate := label
	for n := 2; labels[kind+"."+candidate]; n++ {
		candidate = fmt.Sprintf("%s_%d", label, n)
	}
	labels[kind+"."+candidate] = true
	return candidate
}
