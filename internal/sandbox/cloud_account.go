package sandbox

import (
	"net/http"
	"net/url"
	"sort"
)

// Bitbucket Cloud account resources: the user's email addresses and the workspaces
// the user can reach (the current /user/workspaces and the two deprecated listings the
// description still documents, /workspaces and /user/permissions/workspaces).

// cloudWorkspaceFields are the workspace fields q and sort accept.
var cloudWorkspaceFields = map[string]bool{
	"uuid": true, "slug": true, "name": true, "is_private": true, "created_on": true, "updated_on": true,
}

// cloudMembershipFields are the workspace membership fields q and sort accept.
var cloudMembershipFields = map[string]bool{
	"permission": true, "workspace.uuid": true, "workspace.slug": true, "workspace.name": true,
	"user.uuid": true, "user.account_id": true, "user.display_name": true,
}

// cloudListEmails serves GET /user/emails: the account's one (primary, confirmed) address.
func (s *Server) cloudListEmails(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	s.cloudPage(w, r, []any{map[string]any{
		"type": "email", "email": c.user.Email, "is_primary": true, "is_confirmed": true,
		"links": map[string]any{"self": link(s.baseURL(r) + "/2.0/user/emails/" + url.PathEscape(c.user.Email))},
	}})
}

// visibleWorkspaces are the workspaces c may reach, by slug, rendered; callers hold s.mu.
func (s *Server) visibleWorkspaces(r *http.Request, c cloudCaller) []map[string]any {
	slugs := make([]string, 0, len(s.state.workspaces))
	for slug := range s.state.workspaces {
		if c.canSeeWorkspace(slug) {
			slugs = append(slugs, slug)
		}
	}
	sort.Strings(slugs)
	out := make([]map[string]any, 0, len(slugs))
	for _, slug := range slugs {
		out = append(out, s.cloudWorkspaceJSON(r, s.state.workspaces[slug], s.state.wsCreated[slug]))
	}
	return out
}

// cloudListWorkspaces serves the deprecated GET /workspaces.
func (s *Server) cloudListWorkspaces(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	s.mu.Lock()
	objs := s.visibleWorkspaces(r, c)
	s.mu.Unlock()
	s.cloudQueryPage(w, r, objs, cloudWorkspaceFields)
}

// cloudListMemberships serves the deprecated GET /user/permissions/workspaces. The
// sandbox does not model workspace roles: every membership is "member".
func (s *Server) cloudListMemberships(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	s.mu.Lock()
	workspaces := s.visibleWorkspaces(r, c)
	s.mu.Unlock()
	user := s.cloudUserJSON(r, c.user)
	objs := make([]map[string]any, 0, len(workspaces))
	for _, ws := range workspaces {
		objs = append(objs, map[string]any{
			"type": "workspace_membership", "permission": "member", "user": user, "workspace": ws,
			"links": map[string]any{"self": link(s.baseURL(r) + "/2.0/user/permissions/workspaces")},
		})
	}
	s.cloudQueryPage(w, r, objs, cloudMembershipFields)
}

// cloudListWorkspaceAccess serves GET /user/workspaces (workspace_access objects).
func (s *Server) cloudListWorkspaceAccess(w http.ResponseWriter, r *http.Request, c cloudCaller) {
	s.mu.Lock()
	workspaces := s.visibleWorkspaces(r, c)
	s.mu.Unlock()
	items := make([]any, 0, len(workspaces))
	for _, ws := range workspaces {
		links, _ := ws["links"].(map[string]any)
		items = append(items, map[string]any{
			"type": "workspace_access", "administrator": false,
			"workspace": map[string]any{
				"type": "workspace_base", "uuid": ws["uuid"], "slug": ws["slug"], "name": ws["name"],
				"links": map[string]any{"self": links["self"], "avatar": links["avatar"]},
			},
		})
	}
	s.cloudPage(w, r, items)
}
