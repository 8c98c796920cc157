package sandbox

// Permission levels shared by both products' checks.

import (
	"sort"
	"strings"
	"time"
)

const (
	levelNone = iota
	levelRead
	levelWrite
	levelAdmin
)

type cloudRepo struct {
	CloudRepository
	history
	created  time.Time
	hooks    []*cloudHook
	statuses map[string][]*cloudStatus // by commit hash, in creation order
	// knownCommits are full hashes seen in fired events; a short hash in a status
	// call resolves to one of them, as Bitbucket resolves short hashes.
	knownCommits []string
	// messages are the messages of pushed commits, for a later push's old head.
	messages map[string]string
}

// rememberMessage records a pushed commit's message; callers hold s.mu.
func (r *cloudRepo) rememberMessage(hash, message string) {
	if r.messages == nil {
		r.messages = map[string]string{}
	}
	r.messages[hash] = message
}

// messageOf is a known commit's message, or a stand-in for a commit pushed before the
// sandbox knew the repository (a real old head always has one).
func (r *cloudRepo) messageOf(hash string) string {
	if m := r.messages[hash]; m != "" {
		return m
	}
	return "Earlier commit " + shortHash(hash)
}

// resolveCommit expands a short hash to a known full one; callers hold s.mu.
func (r *cloudRepo) resolveCommit(commit string) string {
	if len(commit) < 7 || len(commit) >= 40 {
		return commit
	}
	for _, full := range r.knownCommits {
		if strings.HasPrefix(full, commit) {
			return full
		}
	}
	return commit
}

type cloudHook struct {
	UUID                 string
	URL                  string
	Description          string
	Events               []string
	Active               bool
	SkipCertVerification bool
	Secret               string
	CreatedAt            time.Time
}

type cloudStatus struct {
	UUID        string
	Key         string
	State       string
	Name        string
	Description string
	URL         string
	Refname     string
	CreatedOn   time.Time
	UpdatedOn   time.Time
}

type cloudToken struct {
	user   *CloudUser
	scopes []string
}

type dcProject struct {
	DataCenterProject
}

type dcRepo struct {
	DataCenterRepository
	history
	hooks    []*dcHook
	statuses map[string][]*dcStatus // by commit id
}

type dcHook struct {
	ID            int
	Name          string
	URL           string
	Events        []string
	Active        bool
	Configuration map[string]string
	SSLVerify     bool
	Created       time.Time
	Updated       time.Time
}

func (h *dcHook) secret() string { return h.Configuration["secret"] }

type dcStatus struct {
	Key         string
	State       string
	Name        string
	URL         string
	Description string
	Ref         string
	BuildNumber string
	Parent      string
	Duration    *int64
	Created     time.Time
	Updated     time.Time
	repo        *dcRepo
}

type dcToken struct {
	user       *DataCenterUser
	permission string
	project    string
	repository string
}

type state struct {
	cloudUsers   map[string]*CloudUser // by lower-case email
	cloudTokens  map[string]cloudToken
	appPasswords map[string]bool // username + "\x00" + password
	workspaces   map[string]*CloudWorkspace
	wsCreated    map[string]time.Time
	cloudRepos   map[string]*cloudRepo // by workspace/slug

	dcUsers    map[string]*DataCenterUser
	dcTokens   map[string]dcToken
	dcProjects map[string]*dcProject // by upper-case key
	dcRepos    map[string]*dcRepo    // by KEY/slug
	// dcLegacyStatuses are statuses posted to the deprecated per-commit build-status
	// resource, which belong to no repository; by commit id.
	dcLegacyStatuses map[string][]*dcStatus
	nextDCID         int
	nextHookID       int
	firstCloud       string // email of the first seeded Cloud user, the default actor
	firstDC          string
}

func newState() *state {
	return &state{
		cloudUsers:   map[string]*CloudUser{},
		cloudTokens:  map[string]cloudToken{},
		appPasswords: map[string]bool{},
		workspaces:   map[string]*CloudWorkspace{},
		wsCreated:    map[string]time.Time{},
		cloudRepos:   map[string]*cloudRepo{},
		dcUsers:      map[string]*DataCenterUser{},
		dcTokens:     map[string]dcToken{},
		dcProjects:   map[string]*dcProject{},
		dcRepos:      map[string]*dcRepo{},
		nextDCID:     1,

		dcLegacyStatuses: map[string][]*dcStatus{},
		nextHookID:       1,
	}
}

// sortedCloudRepos lists a workspace's repositories by slug.
func (st *state) sortedCloudRepos(workspace string) []*cloudRepo {
	var out []*cloudRepo
	for _, r := range st.cloudRepos {
		if r.Workspace == workspace {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out
}
