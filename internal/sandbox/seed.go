package sandbox

// Seed is the data POST /_sandbox/seed and Server.Seed add. Optional fields are generated.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/access"
)

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

// CloudAPIToken is an API token with scopes: Atlassian's names (read:repository:bitbucket,
// ...) or the shorthands "read", "write" and "admin" (see cloudTokenScopes).
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

// cloudTokenScopes expands a seeded token's scopes: Atlassian's scope names
// (read:repository:bitbucket, ...) as they are, and three shorthands for tests and the
// demo: "read" is every read scope the project's operations list (access.Cloud),
// "write" adds write:repository:bitbucket, "admin" is every scope access.Cloud lists
// plus the repository write and admin scopes.
func cloudTokenScopes(scopes []string) ([]string, error) {
	all := access.CloudScopesOf(access.Cloud)
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	for _, sc := range scopes {
		switch {
		case strings.EqualFold(sc, "read"):
			for _, n := range all {
				if strings.HasPrefix(n, "read:") {
					add(n)
				}
			}
		case strings.EqualFold(sc, "write"):
			for _, n := range all {
				if strings.HasPrefix(n, "read:") {
					add(n)
				}
			}
			add("write:repository:bitbucket")
		case strings.EqualFold(sc, "admin"):
			add(all...)
			add("write:repository:bitbucket", "admin:repository:bitbucket")
		case access.IsScope(sc):
			add(sc)
		default:
			return nil, fmt.Errorf("api_tokens.scopes: unknown scope %q (want read, write, admin or a scope such as %s)", sc, access.ReadRepository)
		}
	}
	slices.Sort(out)
	return out, nil
}

func dcPermissionValid(p string) bool {
	switch p {
	case "REPO_READ", "REPO_WRITE", "REPO_ADMIN", "PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN", "ADMIN", "SYS_ADMIN":
		return true
	}
	return false
}

// Seed adds (or updates) users, tokens, workspaces, projects and repositories. The
// whole seed is checked first, so a bad seed changes nothing.
func (s *Server) Seed(seed Seed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if err := st.checkCloudSeed(seed.Cloud); err != nil {
		return err
	}
	if err := st.checkDataCenterSeed(seed.DataCenter); err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, w := range seed.Cloud.Workspaces {
		st.seedWorkspace(w, now)
	}
	for _, u := range seed.Cloud.Users {
		st.seedCloudUser(u)
	}
	for _, r := range seed.Cloud.Repositories {
		st.seedCloudRepo(r, now)
	}
	for _, p := range seed.DataCenter.Projects {
		st.seedDCProject(p)
	}
	for _, u := range seed.DataCenter.Users {
		st.seedDCUser(u)
	}
	for _, r := range seed.DataCenter.Repositories {
		st.seedDCRepo(r)
	}
	return nil
}

// checkCloudSeed validates the Cloud part of a seed against itself and the state.
func (st *state) checkCloudSeed(seed CloudSeed) error {
	for i, u := range seed.Users {
		if !strings.Contains(u.Email, "@") {
			return fmt.Errorf("cloud.users[%d].email: must be an email address", i)
		}
		for j, tok := range u.APITokens {
			if tok.Token == "" {
				return fmt.Errorf("cloud.users[%d].api_tokens[%d].token: required", i, j)
			}
			if _, err := cloudTokenScopes(tok.Scopes); err != nil {
				return fmt.Errorf("cloud.users[%d].%w", i, err)
			}
		}
		for j, ap := range u.AppPasswords {
			if ap.Username == "" || ap.Password == "" {
				return fmt.Errorf("cloud.users[%d].app_passwords[%d]: username and password required", i, j)
			}
		}
	}
	for i, w := range seed.Workspaces {
		if w.Slug == "" {
			return fmt.Errorf("cloud.workspaces[%d].slug: required", i)
		}
	}
	for i, r := range seed.Repositories {
		if r.Slug == "" {
			return fmt.Errorf("cloud.repositories[%d].slug: required", i)
		}
		_, known := st.workspaces[r.Workspace]
		known = known || slices.ContainsFunc(seed.Workspaces, func(w CloudWorkspace) bool { return w.Slug == r.Workspace })
		if !known {
			return fmt.Errorf("cloud.repositories[%d].workspace: unknown workspace %q", i, r.Workspace)
		}
	}
	return nil
}

// checkDataCenterSeed validates the Data Center part of a seed against itself and the state.
func (st *state) checkDataCenterSeed(seed DataCenterSeed) error {
	for i, u := range seed.Users {
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
	for i, p := range seed.Projects {
		if p.Key == "" {
			return fmt.Errorf("datacenter.projects[%d].key: required", i)
		}
	}
	for i, r := range seed.Repositories {
		if r.Slug == "" {
			return fmt.Errorf("datacenter.repositories[%d].slug: required", i)
		}
		_, known := st.dcProjects[strings.ToUpper(r.Project)]
		known = known || slices.ContainsFunc(seed.Projects, func(p DataCenterProject) bool { return strings.EqualFold(p.Key, r.Project) })
		if !known {
			return fmt.Errorf("datacenter.repositories[%d].project: unknown project %q", i, r.Project)
		}
	}
	return nil
}

// seedWorkspace adds or updates a Cloud workspace, keeping its UUID and creation time.
func (st *state) seedWorkspace(w CloudWorkspace, now time.Time) {
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

// seedCloudUser adds or updates a Cloud account and adds its tokens and app passwords.
func (st *state) seedCloudUser(u CloudUser) {
	key := strings.ToLower(u.Email)
	existing := st.cloudUsers[key]
	if existing != nil {
		u.UUID = cmp.Or(u.UUID, existing.UUID)
		u.AccountID = cmp.Or(u.AccountID, existing.AccountID)
	}
	u.UUID = braced(cmp.Or(u.UUID, newUUID()))
	if u.AccountID == "" {
		u.AccountID = "712020:" + newUUID()
	}
	u.Nickname = cmp.Or(u.Nickname, u.Email[:strings.Index(u.Email, "@")])
	u.DisplayName = cmp.Or(u.DisplayName, u.Nickname)
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
		scopes, _ := cloudTokenScopes(tok.Scopes)
		st.cloudTokens[tok.Token] = cloudToken{user: user, scopes: scopes}
	}
	for _, ap := range u.AppPasswords {
		st.appPasswords[ap.Username+"\x00"+ap.Password] = true
	}
}

// seedCloudRepo adds or updates a Cloud repository, keeping its UUID.
func (st *state) seedCloudRepo(r CloudRepository, now time.Time) {
	key := r.Workspace + "/" + r.Slug
	r.Name = cmp.Or(r.Name, r.Slug)
	r.MainBranch = cmp.Or(r.MainBranch, "main")
	if r.IsPrivate == nil {
		private := true
		r.IsPrivate = &private
	}
	if existing, ok := st.cloudRepos[key]; ok {
		r.UUID = braced(cmp.Or(r.UUID, existing.UUID))
		existing.CloudRepository = r
		existing.ensureBranch(key, r.MainBranch, now)
		return
	}
	r.UUID = braced(cmp.Or(r.UUID, newUUID()))
	st.cloudRepos[key] = &cloudRepo{CloudRepository: r, history: newHistory(key, r.MainBranch, now), created: now, statuses: map[string][]*cloudStatus{}}
}

// nextID hands out Data Center ids (projects, users, repositories share one counter).
func (st *state) nextID() int {
	id := st.nextDCID
	st.nextDCID++
	return id
}

// seedDCProject adds or updates a Data Center project, keeping its id.
func (st *state) seedDCProject(p DataCenterProject) {
	p.Key = strings.ToUpper(p.Key)
	p.Name = cmp.Or(p.Name, p.Key)
	if existing, ok := st.dcProjects[p.Key]; ok {
		p.ID = cmp.Or(p.ID, existing.ID)
		existing.DataCenterProject = p
		return
	}
	if p.ID == 0 {
		p.ID = st.nextID()
	}
	st.dcProjects[p.Key] = &dcProject{DataCenterProject: p}
}

// seedDCUser adds or updates a Data Center user and adds its tokens.
func (st *state) seedDCUser(u DataCenterUser) {
	u.DisplayName = cmp.Or(u.DisplayName, u.Name)
	u.Email = cmp.Or(u.Email, u.Name+"@example.com")
	existing := st.dcUsers[u.Name]
	if u.ID == 0 {
		if existing != nil {
			u.ID = existing.ID
		} else {
			u.ID = st.nextID()
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

// seedDCRepo adds or updates a Data Center repository, keeping its id.
func (st *state) seedDCRepo(r DataCenterRepository) {
	r.Project = strings.ToUpper(r.Project)
	key := r.Project + "/" + r.Slug
	r.Name = cmp.Or(r.Name, r.Slug)
	r.DefaultBranch = cmp.Or(r.DefaultBranch, "main")
	if existing, ok := st.dcRepos[key]; ok {
		r.ID = cmp.Or(r.ID, existing.ID)
		existing.DataCenterRepository = r
		existing.ensureBranch(key, r.DefaultBranch, time.Now().UTC())
		return
	}
	if r.ID == 0 {
		r.ID = st.nextID()
	}
	st.dcRepos[key] = &dcRepo{DataCenterRepository: r, history: newHistory(key, r.DefaultBranch, time.Now().UTC()), statuses: map[string][]*dcStatus{}}
}
