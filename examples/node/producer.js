#!/usr/bin/env node
// A runwared producer in Node.js (the `redis` npm package): push one job, wait for its result
// record.
//
// The contract is JSON on Redis lists: LPUSH the job onto <prefix>:jobs naming a result list of
// its own, then BRPOP that list. Exit 0 on a success record, 1 on an error record, 2 when no
// record came in time or Redis is unreachable.
//
// Environment: REDIS_URL (default redis://127.0.0.1:6379/0), RUNWARE_PREFIX (runwared's
// key_prefix, default runware), WAIT_SECONDS (default 300). Install with `npm ci`.
'use strict';

const { randomUUID } = require('node:crypto');
const { createClient } = require('redis');

async function main() {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
  const prefix = process.env.RUNWARE_PREFIX || 'runware';
  const wait = Number(process.env.WAIT_SECONDS || 300);
  const prompt = process.argv[2] || 'a red fox in fresh snow, morning light';

  const client = createClient({ url });
  client.on('error', (e) => console.error(`redis: ${e.message}`));
  await client.connect();
  try {
    const taskUUID = randomUUID(); // ours, so that we know which record answers us
    const replyList = `${prefix}:reply:${taskUUID}`;
    const job = {
      task: { taskUUID, positivePrompt: prompt, width: 1024, height: 1024, numberResults: 2,
              includeCost: true },
      meta: { from: 'examples/node/producer.js' },
      resultList: replyList,
    };
    await client.lPush(`${prefix}:jobs`, JSON.stringify(job));
    console.error(`enqueued ${taskUUID}`);
    const popped = await client.brPop(replyList, wait);
    if (!popped) {
      console.error(`no record within ${wait} s; it will arrive on ${replyList}`);
      return 2;
    }
    const record = JSON.parse(popped.element);
    console.log(JSON.stringify(record));
    if (record.status !== 'success') {
      for (const e of record.errors) console.error(`error ${e.code}: ${e.message}`);
      return 1;
    }
    for (const item of record.data)
      console.error(`image ${item.imageUUID}: ${item.imageURL || '(inline data)'}`);
    return 0;
  } finally {
    await client.quit();
  }
}

main().then((code) => { process.exitCode = code; },
            (e) => { console.error(`redis: ${e.message}`); process.exitCode = 2; });
