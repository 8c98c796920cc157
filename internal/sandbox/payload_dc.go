package sandbox

// Bitbucket Data Center webhook payloads, built as Data Center sends them.

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

func (s *Server) prepareDC(base string, ev Event) (any, []target, error) {
	key := strings.ToUpper(ev.Project)
	repo := s.state.dcRepos[key+"/"+ev.Repository]
	if repo == nil {
		return nil, nil, fmt.Errorf("repository: no Data Center repository %s/%s", ev.Project, ev.Repository)
	}
	actorName := ev.Actor
	if actorName == "" {
		actorName = s.state.firstDC
	}
	actor := s.state.dcUsers[actorName]
	if actor == nil {
		return nil, nil, fmt.Errorf("actor: no Data Center user %q", ev.Actor)
	}
	var targets []target
	for _, h := range repo.hooks {
		t := target{hookID: fmt.Sprint(h.ID), url: h.URL, secret: h.secret(), insecure: !h.SSLVerify}
		if ev.Hook != "" {
			if t.hookID == ev.Hook {
				targets = append(targets, t)
			}
			continue
		}
		if h.Active && (slices.Contains(h.Events, ev.Event) || ev.Event == "diagnostics:ping") {
			targets = append(targets, t)
		}
	}
	if ev.Hook != "" && len(targets) == 0 {
		return nil, nil, fmt.Errorf("hook: no webhook %s on %s/%s", ev.Hook, ev.Project, ev.Repository)
	}
	if ev.Event == "diagnostics:ping" {
		return map[string]any{"test": true}, targets, nil
	}
	now := time.Now().UTC()
	actorJSON := map[string]any{
		"name": actor.Name, "emailAddress": actor.Email, "id": actor.ID, "displayName": actor.DisplayName,
		"active": true, "slug": actor.Name, "type": "NORMAL",
		"links": map[string]any{"self": []any{map[string]any{"href": base + "/users/" + actor.Name}}},
	}
	repoJSON := s.dcRepoJSON(base, repo)
	payload := map[string]any{"eventKey": ev.Event, "date": now.Format("2006-01-02T15:04:05-0700"), "actor": actorJSON}

	if ev.Event == "repo:refs_changed" {
		branch := ev.Branch
		if branch == "" {
			branch = repo.DefaultBranch
		}
		commits := ev.Commits
		if len(commits) == 0 {
			commits = []Commit{{Hash: randomHex(20), Message: "Update " + repo.Slug}}
		}
		repo.recordPush(branch, ev.OldHash, repo.DefaultBranch, commits, now)
		head := commits[len(commits)-1].Hash
		from, changeType := ev.OldHash, "UPDATE"
		if from == "" {
			from, changeType = strings.Repeat("0", 40), "ADD"
		}
		payload["repository"] = repoJSON
		payload["changes"] = []any{map[string]any{
			"ref":   map[string]any{"id": "refs/heads/" + branch, "displayId": branch, "type": "BRANCH"},
			"refId": "refs/heads/" + branch, "fromHash": from, "toHash": head, "type": changeType,
		}}
		return payload, targets, nil
	}

	if !strings.HasPrefix(ev.Event, "pr:") {
		return s.dcRepositoryEvent(base, ev, repo, payload, now), targets, nil
	}
	p, err := eventPullRequest(ev, repo.DefaultBranch)
	if err != nil {
		return nil, nil, err
	}
	repo.recordPR(p, ev.Commits, now)
	created := now.Add(-time.Minute).UnixMilli()
	state, closed := "OPEN", false
	switch ev.Event {
	case "pr:merged":
		state, closed = "MERGED", true
	case "pr:declined":
		state, closed = "DECLINED", true
	}
	ref := func(branch, hash string) map[string]any {
		return map[string]any{"id": "refs/heads/" + branch, "displayId": branch, "latestCommit": hash, "type": "BRANCH", "repository": repoJSON}
	}
	author := map[string]any{"user": actorJSON, "role": "AUTHOR", "approved": false, "status": "UNAPPROVED"}
	prJSON := map[string]any{
		"id": p.ID, "version": 0, "title": p.Title, "description": p.Description,
		"state": state, "open": !closed, "closed": closed,
		"createdDate": created, "updatedDate": now.UnixMilli(),
		"fromRef": ref(p.SourceBranch, p.SourceCommit), "toRef": ref(p.DestinationBranch, p.DestinationCommit),
		"locked": false, "author": author, "reviewers": []any{}, "participants": []any{},
		"links": map[string]any{"self": []any{map[string]any{"href": fmt.Sprintf("%s/projects/%s/repos/%s/pull-requests/%d", base, repo.Project, repo.Slug, p.ID)}}},
	}
	if closed {
		prJSON["closedDate"] = now.UnixMilli()
	}
	payload["pullRequest"] = prJSON
	switch ev.Event {
	case "pr:from_ref_updated":
		prev := p.PreviousSourceCommit
		if prev == "" {
			prev = randomHex(20)
		}
		payload["previousFromHash"] = prev
	case "pr:modified":
		title, description := p.Title, p.Description
		if p.PreviousTitle != nil {
			title = *p.PreviousTitle
		}
		if p.PreviousDescription != nil {
			description = *p.PreviousDescription
		}
		targetBranch, targetCommit := p.DestinationBranch, p.DestinationCommit
		if p.PreviousDestinationBranch != "" {
			targetBranch = p.PreviousDestinationBranch
			targetCommit = p.PreviousDestinationCommit
			if targetCommit == "" {
				targetCommit = randomHex(20)
			}
		}
		payload["previousTitle"] = title
		payload["previousDescription"] = description
		payload["previousTarget"] = map[string]any{"id": "refs/heads/" + targetBranch, "displayId": targetBranch, "type": "BRANCH", "latestCommit": targetCommit, "latestChangeset": targetCommit}
	case "pr:to_ref_updated":
		prev := p.PreviousDestinationCommit
		if prev == "" {
			prev = randomHex(20)
		}
		payload["previousToHash"] = prev
	case "pr:reviewer:updated":
		payload["addedReviewers"] = []any{actorJSON}
		payload["removedReviewers"] = []any{}
		prJSON["reviewers"] = []any{map[string]any{"user": actorJSON, "role": "REVIEWER", "approved": false, "status": "UNAPPROVED"}}
	case "pr:reviewer:approved", "pr:reviewer:unapproved", "pr:reviewer:needs_work", "pr:reviewer:changes_requested":
		status, previous := dcReviewerStatus(ev.Event)
		approved := status == "APPROVED"
		participant := map[string]any{"user": actorJSON, "role": "REVIEWER", "approved": approved, "status": status, "lastReviewedCommit": p.SourceCommit}
		payload["participant"] = participant
		payload["previousStatus"] = previous
		prJSON["reviewers"] = []any{participant}
	case "pr:merged":
		merge := randomHex(20)
		prJSON["properties"] = map[string]any{"mergeCommit": map[string]any{"id": merge, "displayId": merge[:11]}}
	case "pr:comment:added", "pr:comment:edited", "pr:comment:deleted":
		addDCComment(payload, ev, repo, actorJSON, now)
	}
	return payload, targets, nil
}

// dcReviewerStatus is a reviewer event's new status and the one before it.
func dcReviewerStatus(event string) (status, previous string) {
	switch event {
	case "pr:reviewer:approved":
		return "APPROVED", "UNAPPROVED"
	case "pr:reviewer:unapproved":
		return "UNAPPROVED", "APPROVED"
	}
	return "NEEDS_WORK", "UNAPPROVED" // needs_work, and changes_requested (its 9.x name)
}

// addDCComment adds a comment event's comment (and, when edited, previousComment).
func addDCComment(payload map[string]any, ev Event, repo *dcRepo, actorJSON map[string]any, now time.Time) {
	text := ev.Comment
	if text == "" {
		text = "Looks good."
	}
	version := 0
	if strings.HasSuffix(ev.Event, ":edited") {
		version = 1
		payload["previousComment"] = cmp.Or(ev.PreviousComment, "Looks good")
	}
	payload["comment"] = map[string]any{
		"properties": map[string]any{"repositoryId": repo.ID}, "id": int(now.UnixNano() % 1_000_000),
		"version": version, "text": text, "author": actorJSON, "createdDate": now.UnixMilli(),
		"updatedDate": now.UnixMilli(), "comments": []any{}, "tasks": []any{},
		"severity": "NORMAL", "state": "OPEN",
	}
}
