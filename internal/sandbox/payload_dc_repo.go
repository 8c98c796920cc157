package sandbox

// Bitbucket Data Center repository and mirror event payloads (everything but pushes
// and pull requests), with the properties Atlassian's event payload documentation
// lists for each key.

// dcRepositoryEvent completes payload (eventKey, date, actor) for ev; callers hold s.mu.

import (
	"cmp"
	"time"
)

func (s *Server) dcRepositoryEvent(base string, ev Event, repo *dcRepo, payload map[string]any, now time.Time) map[string]any {
	repoJSON := s.dcRepoJSON(base, repo)
	actorJSON, _ := payload["actor"].(map[string]any)
	switch ev.Event {
	case "repo:modified":
		// A rename or move: old and new, no top-level repository.
		old := s.dcRepoJSON(base, repo)
		if ev.PreviousName != "" {
			old["name"], old["slug"] = ev.PreviousName, ev.PreviousName
		}
		payload["old"], payload["new"] = old, repoJSON
	case "repo:forked":
		fork := s.dcRepoJSON(base, repo)
		fork["slug"], fork["name"], fork["id"] = repo.Slug+"-fork", repo.Name+"-fork", repo.ID+100000
		fork["origin"] = repoJSON
		payload["repository"] = fork
	case "repo:comment:added", "repo:comment:edited", "repo:comment:deleted":
		commit := randomHex(20)
		if len(ev.Commits) > 0 {
			commit = ev.Commits[len(ev.Commits)-1].Hash
		}
		payload["repository"], payload["commit"] = repoJSON, commit
		addDCComment(payload, ev, repo, actorJSON, now)
	case "mirror:repo_synchronized":
		// Sent by a mirror: no actor; the refs it synchronized.
		delete(payload, "actor")
		head := repo.branches[repo.DefaultBranch]
		payload["mirrorServer"] = map[string]any{"id": "B0A1-C2D3-E4F5-A6B7", "name": "Sandbox mirror"}
		payload["syncType"], payload["refLimitExceeded"] = "INCREMENTAL", false
		payload["repository"] = repoJSON
		payload["changes"] = []any{map[string]any{
			"ref":   map[string]any{"id": "refs/heads/" + repo.DefaultBranch, "displayId": repo.DefaultBranch, "type": "BRANCH"},
			"refId": "refs/heads/" + repo.DefaultBranch, "fromHash": cmp.Or(ev.OldHash, randomHex(20)), "toHash": head, "type": "UPDATE",
		}}
	}
	return payload
}
