package sandbox

// Bitbucket Cloud repository, issue and project event payloads (everything but pushes
// and pull requests), with the properties Atlassian's event payload documentation
// lists for each key: actor and repository, plus what the event is about.

// cloudRepositoryEvent completes payload (actor, repository) for ev; callers hold s.mu.

import (
	"cmp"
	"fmt"
	"time"
)

func (s *Server) cloudRepositoryEvent(base string, ev Event, repo *cloudRepo, payload map[string]any, now time.Time) map[string]any {
	actorJSON, _ := payload["actor"].(map[string]any)
	repoJSON, _ := payload["repository"].(map[string]any)
	full := repo.Workspace + "/" + repo.Slug
	api, html := base+"/2.0/repositories/"+full, base+"/"+full
	repoRef := map[string]any{"type": "repository", "full_name": full, "name": repo.Name, "uuid": repo.UUID,
		"links": map[string]any{"self": link(api), "html": link(html)}}
	commit := randomHex(20)
	if len(ev.Commits) > 0 {
		commit = ev.Commits[len(ev.Commits)-1].Hash
	}
	commitRef := map[string]any{"type": "commit", "hash": commit,
		"links": map[string]any{"self": link(api + "/commit/" + commit), "html": link(html + "/commits/" + commit)}}
	switch ev.Event {
	case "repo:fork":
		fork := s.cloudRepoJSON(base, repo)
		fork["full_name"], fork["name"], fork["uuid"] = full+"-fork", repo.Name+"-fork", braced(newUUID())
		fork["parent"] = repoRef
		payload["fork"] = fork
	case "repo:updated":
		old := cmp.Or(ev.PreviousName, repo.Name)
		payload["changes"] = map[string]any{
			"name":      map[string]any{"old": old, "new": repo.Name},
			"full_name": map[string]any{"old": repo.Workspace + "/" + old, "new": full},
			"links": map[string]any{
				"old": map[string]any{"self": link(base + "/2.0/repositories/" + repo.Workspace + "/" + old), "html": link(base + "/" + repo.Workspace + "/" + old)},
				"new": map[string]any{"self": link(api), "html": link(html)},
			},
		}
	case "repo:transfer":
		ws := s.state.workspaces[repo.Workspace]
		payload["previous_owner"] = map[string]any{"type": "team", "uuid": ws.UUID, "display_name": ws.Name,
			"links": map[string]any{"avatar": link(base + "/workspaces/" + ws.Slug + "/avatar/")}}
	case "repo:commit_comment_created":
		id := int(now.UnixNano() % 1_000_000_000)
		payload["commit"] = commitRef
		payload["comment"] = map[string]any{
			"type": "commit_comment", "id": id, "deleted": false, "content": rendered(cmp.Or(ev.Comment, "Looks good.")),
			"created_on": rfc3339(now), "updated_on": rfc3339(now), "user": actorJSON, "commit": commitRef,
			"links": map[string]any{"self": link(fmt.Sprintf("%s/commit/%s/comments/%d", api, commit, id)),
				"html": link(fmt.Sprintf("%s/commits/%s#comment-%d", html, commit, id))},
		}
	case "repo:commit_status_created", "repo:commit_status_updated":
		state := "INPROGRESS"
		if ev.Event == "repo:commit_status_updated" {
			state = "SUCCESSFUL"
		}
		payload["commit_status"] = map[string]any{
			"type": "build", "key": "sandbox-ci", "name": "Sandbox CI", "state": state, "description": "",
			"url": "https://ci.example.com/builds/1", "refname": repo.MainBranch,
			"created_on": rfc3339(now), "updated_on": rfc3339(now), "commit": commitRef, "repository": repoRef,
			"links": map[string]any{"self": link(api + "/commit/" + commit + "/statuses/build/sandbox-ci"), "commit": link(api + "/commit/" + commit)},
		}
	case "issue:created", "issue:updated", "issue:comment_created":
		issue := cloudIssueJSON(api, html, ev.Issue, actorJSON, repoRef, now)
		payload["issue"] = issue
		if ev.Event == "issue:updated" {
			old := "new"
			if ev.Issue != nil && ev.Issue.PreviousState != "" {
				old = ev.Issue.PreviousState
			}
			payload["changes"] = map[string]any{"status": map[string]any{"old": old, "new": issue["state"]}}
		}
		if ev.Event != "issue:created" {
			id := int(now.UnixNano() % 1_000_000_000)
			payload["comment"] = map[string]any{
				"type": "issue_comment", "id": id, "content": rendered(cmp.Or(ev.Comment, "Looks good.")),
				"created_on": rfc3339(now), "updated_on": nil, "user": actorJSON,
				"issue": map[string]any{"type": "issue", "id": issue["id"], "title": issue["title"], "repository": repoRef},
				"links": map[string]any{"self": link(fmt.Sprintf("%s/issues/%v/comments/%d", api, issue["id"], id)),
					"html": link(fmt.Sprintf("%s/issues/%v#comment-%d", html, issue["id"], id))},
			}
		}
	case "project:updated":
		// A project event is about the project, not a repository: no repository property.
		delete(payload, "repository")
		project, _ := repoJSON["project"].(map[string]any)
		if project == nil {
			project = map[string]any{"type": "project", "key": "PROJ", "name": "Untitled project",
				"uuid": braced(uuidFrom("project:" + repo.Workspace + "/PROJ"))}
		}
		project["is_private"] = true
		project["owner"] = repoJSON["owner"]
		payload["project"] = project
		payload["workspace"] = repoJSON["workspace"]
	}
	// repo:created, repo:deleted and repo:imported carry only actor and repository.
	return payload
}

func cloudIssueJSON(api, html string, in *Issue, actor, repoRef map[string]any, now time.Time) map[string]any {
	issue := Issue{ID: 1}
	if in != nil {
		issue = *in
	}
	issue.ID = max(issue.ID, 1)
	title := cmp.Or(issue.Title, fmt.Sprintf("Issue #%d", issue.ID))
	self := fmt.Sprintf("%s/issues/%d", api, issue.ID)
	return map[string]any{
		"type": "issue", "id": issue.ID, "title": title, "content": rendered(""),
		"state": cmp.Or(issue.State, "new"), "kind": "bug", "priority": "major",
		"reporter": actor, "assignee": nil, "component": nil, "milestone": nil, "version": nil,
		"created_on": rfc3339(now), "updated_on": rfc3339(now), "edited_on": nil, "votes": 0, "watches": 1,
		"repository": repoRef,
		"links": map[string]any{
			"self": link(self), "html": link(fmt.Sprintf("%s/issues/%d", html, issue.ID)),
			"comments": link(self + "/comments"), "attachments": link(self + "/attachments"),
			"watch": link(self + "/watch"), "vote": link(self + "/vote"),
		},
	}
}
