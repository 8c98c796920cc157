package sandbox

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Seed is the data POST /_sandbox/seed and Server.Seed add. Optional fields are generated.
type Seed struct {
	Cloud      CloudSeed      `json:"cloud"`
	DataCenter DataCenterSeed `json:"datacenter"`
}

// CloudSeed holds Bitbucket Cloud accounts, workspaces and repositories.
type CloudSeed struct {
	Users        []CloudUser       `json:"users,omitempty"`
	Workspaces   []CloudWorkspace  `json:"workspaces,omitempty"`
	Repositories []CloudRepository `json:"repositories,omitempty"`
}

// CloudUser is an Atlassian account; Email is the Basic-auth user name for API tokens.
type CloudUser struct {
	Email        string             `json:"email"`
	DisplayName  string             `json:"display_name,omitempty"`
	Nickname     string             `json:"nickname,omitempty"`
	UUID         string             `json:"uuid,omitempty"`
	AccountID    string             `json:"account_id,omitempty"`
	Workspaces   []string           `json:"workspaces,omitempty"`
	APITokens    []CloudAPIToken    `json:"api_tokens,omitempty"`
	AppPasswords []CloudAppPassword `json:"app_passwords,omitempty"`
}

// CloudAPIToken is an API token with scopes "read", "write" or "admin".
type CloudAPIToken struct {
	Token  string   `json:"token"`
	Scopes []string `json:"scopes"`
}

// CloudAppPassword is a legacy credential; Bitbucket rejects it since 2026-07-28.
type CloudAppPassword struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// CloudWorkspace is a Bitbucket Cloud workspace.
type CloudWorkspace struct {
	Slug string `json:"slug"`
	Name string `json:"name,omitempty"`
	UUID string `json:"uuid,omitempty"`
}

// CloudRepository is a repository in a workspace.
type CloudRepository struct {
	Workspace  string `json:"workspace"`
	Slug       string `json:"slug"`
	Name       string `json:"name,omitempty"`
	UUID       string `json:"uuid,omitempty"`
	IsPrivate  *bool  `json:"is_private,omitempty"`
	MainBranch string `json:"mainbranch,omitempty"`
	ProjectKey string `json:"project_key,omitempty"`
}

// DataCenterSeed holds Bitbucket Data Center users, projects and repositories.
type DataCenterSeed struct {
	Users        []DataCenterUser       `json:"users,omitempty"`
	Projects     []DataCenterProject    `json:"projects,omitempty"`
	Repositories []DataCenterRepository `json:"repositories,omitempty"`
}

// DataCenterUser owns HTTP access tokens.
type DataCenterUser struct {
	Name        string            `json:"name"`
	DisplayName string            `json:"display_name,omitempty"`
	Email       string            `json:"email,omitempty"`
	ID          int               `json:"id,omitempty"`
	Tokens      []DataCenterToken `json:"tokens,omitempty"`
}

// DataCenterToken is an HTTP access token. Permission is one of REPO_READ, REPO_WRITE,
// REPO_ADMIN, PROJECT_READ, PROJECT_WRITE, PROJECT_ADMIN, ADMIN, SYS_ADMIN. Project and
// Repository, when set, restrict it (project and repository tokens).
type DataCenterToken struct {
	Token      string `json:"token"`
	Permission string `json:"permission"`
	Project    string `json:"project,omitempty"`
	Repository string `json:"repository,omitempty"`
}

// DataCenterProject is a Data Center project.
type DataCenterProject struct {
	Key         string `json:"key"`
	Name        string `json:"name,omitempty"`
	ID          int    `json:"id,omitempty"`
	Description string `json:"description,omitempty"`
}

// DataCenterRepository is a repository in a project.
type DataCenterRepository struct {
	Project       string `json:"project"`
	Slug          string `json:"slug"`
	Name          string `json:"name,omitempty"`
	ID            int    `json:"id,omitempty"`
	DefaultBranch string `json:"default_branch,omitempty"`
}

// DemoSeed is the data `bitbucket-sandbox --seed` loads.
func DemoSeed() Seed {
	return Seed{
		Cloud: CloudSeed{
			Users: []CloudUser{{
				Email: "dev@example.com", DisplayName: "Dev Eloper", Nickname: "dev",
				APITokens: []CloudAPIToken{
					{Token: "sandbox-cloud-admin-token", Scopes: []string{"admin"}},
					{Token: "sandbox-cloud-read-token", Scopes: []string{"read"}},
				},
				AppPasswords: []CloudAppPassword{{Username: "devuser", Password: "sandbox-app-password"}},
			}},
			Workspaces: []CloudWorkspace{{Slug: "acme", Name: "Acme"}},
			Repositories: []CloudRepository{
				{Workspace: "acme", Slug: "infra", Name: "infra", MainBranch: "main", ProjectKey: "PLAT"},
				{Workspace: "acme", Slug: "app", Name: "app", MainBranch: "main", ProjectKey: "PLAT"},
			},
		},
		DataCenter: DataCenterSeed{
			Users: []DataCenterUser{{
				Name: "admin", DisplayName: "Administrator", Email: "admin@example.com",
				Tokens: []DataCenterToken{
					{Token: "sandbox-dc-admin-token", Permission: "PROJECT_ADMIN", Project: "PLAT"},
					{Token: "sandbox-dc-read-token", Permission: "REPO_READ", Project: "PLAT"},
				},
			}},
			Projects: []DataCenterProject{{Key: "PLAT", Name: "Platform"}},
			Repositories: []DataCenterRepository{
				{Project: "PLAT", Slug: "infra", Name: "infra", DefaultBranch: "main"},
				{Project: "PLAT", Slug: "app", Name: "app", DefaultBranch: "main"},
			},
		},
	}
}

// Permission levels shared by both products' checks.
const (
	levelNone = iota
	levelRead
	levelWrite
	levelAdmin
)

type cloudRepo struct {
	CloudRepository
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
	user  *CloudUser
	level int
}

type dcProject struct {
	DataCenterProject
}

type dcRepo struct {
	DataCenterRepository
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

func cloudScopeLevel(scopes []string) (int, error) {
	level := levelNone
	for _, sc := range scopes {
		var l int
		switch strings.ToLower(sc) {
		case "read":
			l = levelRead
		case "write":
			l = levelWrite
		case "admin":
			l = levelAdmin
		default:
			return 0, fmt.Errorf("api_tokens.scopes: unknown scope %q (want read, write or admin)", sc)
		}
		level = max(level, l)
	}
	return level, nil
}

func dcPermissionValid(p string) bool {
	switch p {
	case "REPO_READ", "REPO_WRITE", "REPO_ADMIN", "PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN", "ADMIN", "SYS_ADMIN":
		return true
	}
	return false
}

// Seed adds (or updates) users, tokens, workspaces, projects and repositories.
func (s *Server) Seed(seed Seed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	now := time.Now().UTC()

	// Validate everything first so a bad seed changes nothing.
	wsKnown := func(slug string) bool {
		if _, ok := st.workspaces[slug]; ok {
			return true
		}
		for _, w := range seed.Cloud.Workspaces {
			if w.Slug == slug {
				return true
			}
		}
		return false
	}
	projKnown := func(key string) bool {
		if _, ok := st.dcProjects[strings.ToUpper(key)]; ok {
			return true
		}
		for _, p := range seed.DataCenter.Projects {
			if strings.EqualFold(p.Key, key) {
				return true
			}
		}
		return false
	}
	for i, u := range seed.Cloud.Users {
		if !strings.Contains(u.Email, "@") {
			return fmt.Errorf("cloud.users[%d].email: must be an email address", i)
		}
		for j, tok := range u.APITokens {
			if tok.Token == "" {
				return fmt.Errorf("cloud.users[%d].api_tokens[%d].token: required", i, j)
			}
			if _, err := cloudScopeLevel(tok.Scopes); err != nil {
				return fmt.Errorf("cloud.users[%d].%w", i, err)
			}
		}
		for j, ap := range u.AppPasswords {
			if ap.Username == "" || ap.Password == "" {
				return fmt.Errorf("cloud.users[%d].app_passwords[%d]: username and password required", i, j)
			}
		}
	}
	for i, w := range seed.Cloud.Workspaces {
		if w.Slug == "" {
			return fmt.Errorf("cloud.workspaces[%d].slug: required", i)
		}
	}
	for i, r := range seed.Cloud.Repositories {
		if r.Slug == "" {
			return fmt.Errorf("cloud.repositories[%d].slug: required", i)
		}
		if !wsKnown(r.Workspace) {
			return fmt.Errorf("cloud.repositories[%d].workspace: unknown workspace %q", i, r.Workspace)
		}
	}
	for i, u := range seed.DataCenter.Users {
		if u.Name == "" {
			return fmt.Errorf("datacenter.users[%d].name: required", i)
		}
		for j, tok := range u.Tokens {
			if tok.Token == "" {
				return fmt.Errorf("datacenter.users[%d].tokens[%d].token: required", i, j)
			}
			if !dcPermissionValid(tok.Permission) {
				return fmt.Errorf("datacenter.users[%d].tokens[%d].permission: unknown permission %q", i, j, tok.Permission)
			}
		}
	}
	for i, p := range seed.DataCenter.Projects {
		if p.Key == "" {
			return fmt.Errorf("datacenter.projects[%d].key: required", i)
		}
	}
	for i, r := range seed.DataCenter.Repositories {
		if r.Slug == "" {
			return fmt.Errorf("datacenter.repositories[%d].slug: required", i)
		}
		if !projKnown(r.Project) {
			return fmt.Errorf("datacenter.repositories[%d].project: unknown project %q", i, r.Project)
		}
	}

	for _, w := range seed.Cloud.Workspaces {
		if w.Name == "" {
			w.Name = w.Slug
		}
		if old, ok := st.workspaces[w.Slug]; ok && w.UUID == "" {
			w.UUID = old.UUID
		}
		if w.UUID == "" {
			w.UUID = newUUID()
		}
		w.UUID = braced(w.UUID)
		st.workspaces[w.Slug] = &w
		if _, ok := st.wsCreated[w.Slug]; !ok {
			st.wsCreated[w.Slug] = now
		}
	}
	for _, u := range seed.Cloud.Users {
		key := strings.ToLower(u.Email)
		existing := st.cloudUsers[key]
		if existing != nil {
			if u.UUID == "" {
				u.UUID = existing.UUID
			}
			if u.AccountID == "" {
				u.AccountID = existing.AccountID
			}
		}
		if u.UUID == "" {
			u.UUID = newUUID()
		}
		u.UUID = braced(u.UUID)
		if u.AccountID == "" {
			u.AccountID = "712020:" + newUUID()
		}
		if u.Nickname == "" {
			u.Nickname = u.Email[:strings.Index(u.Email, "@")]
		}
		if u.DisplayName == "" {
			u.DisplayName = u.Nickname
		}
		user := &u
		if existing != nil {
			// Keep the pointer stable so existing tokens follow the update.
			*existing = u
			user = existing
		}
		st.cloudUsers[key] = user
		if st.firstCloud == "" {
			st.firstCloud = key
		}
		for _, tok := range u.APITokens {
			level, _ := cloudScopeLevel(tok.Scopes)
			st.cloudTokens[tok.Token] = cloudToken{user: user, level: level}
		}
		for _, ap := range u.AppPasswords {
			st.appPasswords[ap.Username+"\x00"+ap.Password] = true
		}
	}
	for _, r := range seed.Cloud.Repositories {
		key := r.Workspace + "/" + r.Slug
		if r.Name == "" {
			r.Name = r.Slug
		}
		if r.MainBranch == "" {
			r.MainBranch = "main"
		}
		if r.IsPrivate == nil {
			private := true
			r.IsPrivate = &private
		}
		if existing, ok := st.cloudRepos[key]; ok {
			if r.UUID == "" {
				r.UUID = existing.UUID
			}
			r.UUID = braced(r.UUID)
			existing.CloudRepository = r
			continue
		}
		if r.UUID == "" {
			r.UUID = newUUID()
		}
		r.UUID = braced(r.UUID)
		st.cloudRepos[key] = &cloudRepo{CloudRepository: r, created: now, statuses: map[string][]*cloudStatus{}}
	}

	for _, p := range seed.DataCenter.Projects {
		p.Key = strings.ToUpper(p.Key)
		if p.Name == "" {
			p.Name = p.Key
		}
		if existing, ok := st.dcProjects[p.Key]; ok {
			if p.ID == 0 {
				p.ID = existing.ID
			}
			existing.DataCenterProject = p
			continue
		}
		if p.ID == 0 {
			p.ID = st.nextDCID
			st.nextDCID++
		}
		st.dcProjects[p.Key] = &dcProject{DataCenterProject: p}
	}
	for _, u := range seed.DataCenter.Users {
		if u.DisplayName == "" {
			u.DisplayName = u.Name
		}
		if u.Email == "" {
			u.Email = u.Name + "@example.com"
		}
		existing := st.dcUsers[u.Name]
		if u.ID == 0 {
			if existing != nil {
				u.ID = existing.ID
			} else {
				u.ID = st.nextDCID
				st.nextDCID++
			}
		}
		user := &u
		if existing != nil {
			*existing = u
			user = existing
		}
		st.dcUsers[u.Name] = user
		if st.firstDC == "" {
			st.firstDC = u.Name
		}
		for _, tok := range u.Tokens {
			st.dcTokens[tok.Token] = dcToken{user: user, permission: tok.Permission, project: strings.ToUpper(tok.Project), repository: tok.Repository}
		}
	}
	for _, r := range seed.DataCenter.Repositories {
		r.Project = strings.ToUpper(r.Project)
		key := r.Project + "/" + r.Slug
		if r.Name == "" {
			r.Name = r.Slug
		}
		if r.DefaultBranch == "" {
			r.DefaultBranch = "main"
		}
		if existing, ok := st.dcRepos[key]; ok {
			if r.ID == 0 {
				r.ID = existing.ID
			}
			existing.DataCenterRepository = r
			continue
		}
		if r.ID == 0 {
			r.ID = st.nextDCID
			st.nextDCID++
		}
		st.dcRepos[key] = &dcRepo{DataCenterRepository: r, statuses: map[string][]*dcStatus{}}
	}
	return nil
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
