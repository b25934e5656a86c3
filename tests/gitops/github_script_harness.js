// Runs the `script:` of an actions/github-script@v7 step the way the action does
// (an async function body given require, github, context, core), with `github`
// a fake Octokit whose pull-request comments live in a JSON file.
// Usage: node github_script_harness.js STATE.json SCRIPT.js   (cwd: the workspace)
"use strict";
const fs = require("fs");

const [statePath, scriptPath] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(statePath, "utf8"));
const save = () => fs.writeFileSync(statePath, JSON.stringify(state, null, 2));
const BOT = { login: "github-actions[bot]", type: "Bot" };
const PAGE = 2; // tiny pages, so a script that ignores pagination misses comments

function listComments({ issue_number, page = 1 }) {
  const all = state.comments.filter((c) => c.issue_number === issue_number);
  return { data: all.slice((page - 1) * PAGE, page * PAGE) };
}
listComments.endpoint = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments";

const github = {
  async paginate(method, params) {
    const out = [];
    for (let page = 1; ; page++) {
      const { data } = await method({ ...params, page });
      out.push(...data);
      if (data.length === 0) return out;
    }
  },
  rest: {
    issues: {
      listComments: async (params) => listComments(params),
      async createComment({ issue_number, body }) {
        const comment = { id: state.next_id++, issue_number, body, user: BOT };
        state.comments.push(comment);
        save();
        return { data: comment };
      },
      async updateComment({ comment_id, body }) {
        const comment = state.comments.find((c) => c.id === comment_id);
        if (!comment) throw new Error(`404: no comment ${comment_id}`);
        if (comment.user.type !== "Bot") throw new Error("403: not the token's comment");
        comment.body = body;
        save();
        return { data: comment };
      },
    },
  },
};
const context = {
  repo: { owner: state.owner, repo: state.repo },
  issue: { owner: state.owner, repo: state.repo, number: state.issue_number },
};
const core = { setFailed: (msg) => { console.error(msg); process.exitCode = 1; } };

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const body = fs.readFileSync(scriptPath, "utf8");
new AsyncFunction("require", "github", "context", "core", body)(require, github, context, core)
  .catch((err) => { console.error(err); process.exitCode = 1; });
