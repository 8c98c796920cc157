package server

import (
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

const (
	maxDescriptionLen = 4096
	maxNameLen        = 100
	defaultPageSize   = 100
	maxPageSize       = 500
)

var (
	labelPattern           = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}$`)
	integrationNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	poolPattern            = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

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
	switch {
	case strings.TrimSpace(name) == "":
		return invalidArg(field, "%s is required and must not be blank", field)
	case utf8.RuneCountInString(name) > maxNameLen:
		return invalidArg(field, "%s must be at most %d characters", field, maxNameLen)
	case !utf8.ValidString(name):
		return invalidArg(field, "%s must be valid UTF-8", field)
	}
	return nil
}

func validateDescription(description string) error {
	if utf8.RuneCountInString(description) > maxDescriptionLen {
		return invalidArg("description", "description must be at most %d characters", maxDescriptionLen)
	}
	return nil
}

func validateEmail(email string) error {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		return invalidArg("email", "email must be a plain address such as dev@example.com")
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

func parseListParams(r *http.Request) (listParams, error) {
	q := r.URL.Query()
	lp := listParams{
		spaceID:   q.Get("space_id"),
		labels:    q["label"],
		name:      q.Get("name"),
		pageSize:  defaultPageSize,
		pageToken: q.Get("page_token"),
	}
	if raw := q.Get("page_size"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxPageSize {
			return lp, invalidArg("page_size", "page_size must be an integer from 1 to %d", maxPageSize)
		}
		lp.pageSize = n
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
func (lp listParams) filter(p *principal) (f store.ListFilter, ok bool) {
	f = store.ListFilter{Labels: lp.labels, Name: lp.name, PageSize: lp.pageSize, PageToken: lp.pageToken}
	if lp.spaceID != "" {
		if !p.can(lp.spaceID, store.RoleRead) {
			return f, false
		}
		f.SpaceIDs = []string{lp.spaceID}
		return f, true
	}
	f.SpaceIDs = p.readableSpaceIDs()
	return f, len(f.SpaceIDs) > 0
}

type listResponse[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func orEmpty(labels []string) []string {
	if labels == nil {
		return []string{}
	}
	return labels
}
