import { $, api, start } from "./app.js";

start(async () => {
  const [files, jobs, models] = await Promise.all([
    api("/v1/files?limit=10000"),
    api("/v1/fine_tuning/jobs?limit=100"),
    api("/v1/models"),
  ]);
  $("n-files").textContent = String(files.data.length);
  $("n-jobs").textContent = jobs.has_more ? "100+" : String(jobs.data.length);
  $("n-models").textContent = String(models.data.filter((m) => m.id.startsWith("ft:")).length);
});
