package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// Length limits of string fields, in characters (API.md "Field sizes"), from package
// rules, which the provider uses too. With maxPageSize and the labels quota they also
// bound every list answer.
const (
	maxDescriptionLen = rules.MaxDescriptionLen
	maxNameLen        = rules.MaxNameLen
	maxIDLen          = rules.MaxIDLen         // space_id, parent_space_id, roles[].space_id, and path ids
	maxUsernameLen    = rules.MaxUsernameLen   // username
	maxEmailLen       = rules.MaxEmailLen      // email
	maxCredentialLen  = rules.MaxCredentialLen // api_token, app_password, access_token
	maxURLLen         = rules.MaxURLLen        // api_host, user_facing_host
	maxFilterLen      = 255                    // the name and space_id list filters
	maxPageTokenLen   = 1024                   // page_token
	maxRolesPerKey    = 100                    // roles of one API key
	defaultPageSize   = 100
	maxPageSize       = 500
)

// sizeRule is one string field and the most characters it may hold.
type sizeRule struct {
	field string
	value string
	max   int
}

// checkSizes answers a 400 naming the first field longer than its limit. It runs
// before any other rule, so no oversized value is parsed or echoed in a message.
func checkSizes(rules ...sizeRule) error {
	for _, r := range rules {
		// A byte length within the limit is within it in characters too.
		if len(r.value) > r.max && utf8.RuneCountInString(r.value) > r.max {
			return invalidArg(r.field, "%s must be at most %d characters", r.field, r.max)
		}
	}
	return nil
}

// deref is *v, or "" for nil.
func deref(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

var (
	labelPattern           = rules.Label
	integrationNamePattern = rules.IntegrationName
)

// Default quotas (Config, API.md "Limits").
const (
	DefaultMaxSpaces     = 10000
	DefaultMaxSpaceDepth = 16
	DefaultMaxLabels     = 50
)

// limits are the configured quotas a request is validated against.
type limits struct {
	maxLabels int // labels per object, and label filters per list
}

// labels validates a labels field: its length (as sent, duplicates included, like
// openapi.json's maxItems), then each label.
func (l limits) labels(labels []string) ([]string, error) {
	if len(labels) > l.maxLabels {
		return nil, invalidArg("labels", "labels holds at most %d entries; this one has %d", l.maxLabels, len(labels))
	}
	return normalizeLabels(labels)
}

// normalizeLabels validates each label and returns them sorted and de-duplicated.
func normalizeLabels(labels []string) ([]string, error) {
	out := make([]string, 0, len(labels))
	for i, l := range labels {
		if !labelPattern.MatchString(l) {
			return nil, invalidArg(fmt.Sprintf("labels[%d]", i),
				"label %d must match %s", i, labelPattern.String())
		}
		out = append(out, l)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func validateDisplayName(field, name string) error {
	switch problem := rules.NameProblem(name); {
	case problem == "":
		return nil
	case strings.TrimSpace(name) == "":
		return invalidArg(field, "%s is required and must not be blank", field)
	default:
		return invalidArg(field, "%s %s", field, problem)
	}
}

func validateDescription(description string) error {
	if utf8.RuneCountInString(description) > maxDescriptionLen {
		return invalidArg("description", "description must be at most %d characters", maxDescriptionLen)
	}
	return nil
}

// listParams reads the query parameters shared by every collection.
type listParams struct {
	spaceID   string
	labels    []string
	name      string
	pageSize  int
	pageToken string
}

func parseListParams(r *http.Request, lim limits) (listParams, error) {
	q := r.URL.Query()
	lp := listParams{
		spaceID:   q.Get("space_id"),
		labels:    q["label"],
		name:      q.Get("name"),
		pageSize:  defaultPageSize,
		pageToken: q.Get("page_token"),
	}
	if err := checkSizes(
		sizeRule{"space_id", lp.spaceID, maxFilterLen},
		sizeRule{"name", lp.name, maxFilterLen},
		sizeRule{"page_token", lp.pageToken, maxPageTokenLen},
	); err != nil {
		return lp, err
	}
	if raw := q.Get("page_size"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxPageSize {
			return lp, invalidArg("page_size", "page_size must be an integer from 1 to %d", maxPageSize)
		}
		lp.pageSize = n
	}
	// No object carries more labels than this, so more filters could never match;
	// each one is a clause of the store's query.
	if len(lp.labels) > lim.maxLabels {
		return lp, invalidArg("label", "at most %d label filters are allowed (an object carries at most %d labels)", lim.maxLabels, lim.maxLabels)
	}
	for i, l := range lp.labels {
		if !labelPattern.MatchString(l) {
			return lp, invalidArg("label", "label filter %d is not a valid label", i)
		}
	}
	return lp, nil
}

// filter turns the parameters into a store filter limited to the spaces the caller
// can read. ok is false when nothing can match (so the store is not asked).
func (lp listParams) filter(p *principal) (f store.ListFilter, ok bool, err error) {
	f = store.ListFilter{Labels: lp.labels, Name: lp.name, PageSize: lp.pageSize, PageToken: lp.pageToken}
	if lp.spaceID != "" {
		ok, err := p.Can(lp.spaceID, store.RoleRead)
		if err != nil || !ok {
			return f, false, err
		}
		f.SpaceIDs = []string{lp.spaceID}
		return f, true, nil
	}
	if !p.RootAdmin() {
		f.ReadableBy = p.Key().ID
	}
	return f, true, nil
}

type listResponse[T any] = apiwire.Page[T]

// wireTime is t as the API writes it (RFC 3339, UTC, whole seconds).
func wireTime(t time.Time) apiwire.Time { return apiwire.At(t) }

func orEmpty(labels []string) []string {
	if labels == nil {
		return []string{}
	}
	return labels
}
