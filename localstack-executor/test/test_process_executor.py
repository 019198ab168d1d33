"""Integration tests for the 'process' Lambda executor, against a running host LocalStack.

Run (LocalStack must already be up, e.g. localstack-executor/start.sh --background):
    .localstack/venv/bin/python -m unittest discover -s localstack-executor/test -v
or let localstack-executor/test/run.sh start and stop LocalStack around the run.
"""

from __future__ import annotations

import io
import json
import os
import time
import unittest
import uuid
import zipfile

import pathlib

import boto3
from botocore.config import Config

REPO = pathlib.Path(__file__).resolve().parents[2]
ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566")
REGION = "us-east-1"
RUN = uuid.uuid4().hex[:8]

HANDLER_SRC = r"""
import { S3Client, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';

const s3 = new S3Client({ forcePathStyle: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const handler = async (event, context) => {
  if (Array.isArray(event.Records)) {
    // SQS batch: store each good message in S3, report the bad ones as partial batch failures
    const batchItemFailures = [];
    for (const record of event.Records) {
      if (record.body.startsWith('fail')) {
        batchItemFailures.push({ itemIdentifier: record.messageId });
        continue;
      }
      await s3.send(new PutObjectCommand({ Bucket: process.env.SEEN_BUCKET, Key: `seen/${record.body}`, Body: record.messageId }));
    }
    console.log('sqs batch', event.Records.length, 'failures', batchItemFailures.length);
    return { batchItemFailures };
  }
  if (event.fail) throw new TypeError(`boom ${event.fail}`);
  const { Buckets } = await s3.send(new ListBucketsCommand({}));
  const hello = execFileSync('hello', [event.name ?? 'nobody'], { encoding: 'utf8' }).trim();
  console.log('handled', JSON.stringify(event));
  return {
    hello,
    greeting: process.env.GREETING,
    bucketCount: Buckets.length,
    endpoint: process.env.AWS_ENDPOINT_URL,
    functionName: context.functionName,
    remainingOk: context.getRemainingTimeInMillis() > 0,
  };
};

export const tool = async (event) => ({
  line: execFileSync(event.cmd, ['-version'], { encoding: 'utf8' }).split('\n')[0],
});

export const crasher = async (event) => {
  if (event.crash) process.exit(3);
  return 'alive';
};

export const sleeper = async (event) => {
  console.log('going to sleep for', event.ms);
  await sleep(event.ms);
  return { slept: event.ms };
};
"""

HELLO_SH = '#!/bin/sh\necho "hello from layer, $1"\n'


def _zip(files: dict[str, tuple[str, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (content, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16  # regular file + unix mode
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()


FUNCTION_ZIP = _zip({"index.mjs": (HANDLER_SRC, 0o644)})
# 0o744 on purpose: the exec bit for the owner must survive publish + unzip
LAYER_ZIP = _zip({"bin/hello": (HELLO_SH, 0o744)})


def client(service: str):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 2}, read_timeout=120),
    )


def wait_until(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def invoke(lam, name: str, payload: dict) -> tuple[dict, dict]:
    started = time.monotonic()
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail")
    body = json.loads(resp["Payload"].read() or b"null")
    resp["_seconds"] = time.monotonic() - started
    return resp, body


class ProcessExecutorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lam = client("lambda")
        cls.s3 = client("s3")
        cls.sqs = client("sqs")
        iam = client("iam")
        cls.role_arn = iam.create_role(
            RoleName=f"lambda-role-{RUN}",
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            ),
        )["Role"]["Arn"]
        cls.bucket = f"seen-{RUN}"
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.layer_arn = cls.lam.publish_layer_version(
            LayerName=f"hello-{RUN}", Content={"ZipFile": LAYER_ZIP}, CompatibleRuntimes=["nodejs24.x"]
        )["LayerVersionArn"]
        cls.functions = []
        cls.fn = f"fn-{RUN}"
        cls._create_function(cls.fn, "index.handler", timeout=10)

    @classmethod
    def tearDownClass(cls):
        # deleting the functions stops their node processes right away (no 10 min keep-alive)
        for name in cls.functions:
            try:
                cls.lam.delete_function(FunctionName=name)
            except Exception as e:  # noqa: BLE001
                # LocalStack 4.14.0 answers InternalError "Unable to find version manager" when
                # deleting a function whose preparation failed (state Failed); harmless here
                if "version manager" not in str(e):
                    print(f"cleanup: {name}: {e}")

    @classmethod
    def _create_function(cls, name: str, handler: str, timeout: int, layers=None, wait=True):
        cls.lam.create_function(
            FunctionName=name,
            Runtime="nodejs24.x",
            Role=cls.role_arn,
            Handler=handler,
            Code={"ZipFile": FUNCTION_ZIP},
            Timeout=timeout,
            MemorySize=256,
            Layers=layers if layers is not None else [cls.layer_arn],
            Environment={"Variables": {"GREETING": "hi there", "SEEN_BUCKET": cls.bucket}},
        )
        cls.functions.append(name)
        if wait:
            cls.lam.get_waiter("function_active_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )

    def test_1_invoke_sdk_layer_env(self):
        resp, body = invoke(self.lam, self.fn, {"name": "world"})
        print(f"\n  first (cold) invoke took {resp['_seconds']:.2f}s")
        self.assertNotIn("FunctionError", resp, body)
        self.assertEqual(body["hello"], "hello from layer, world")
        self.assertEqual(body["greeting"], "hi there")
        self.assertGreaterEqual(body["bucketCount"], 1)
        self.assertEqual(body["endpoint"], "http://127.0.0.1:4566")
        self.assertEqual(body["functionName"], self.fn)
        self.assertTrue(body["remainingOk"])
        resp, body = invoke(self.lam, self.fn, {"name": "again"})
        print(f"  warm invoke took {resp['_seconds']:.2f}s")
        self.assertEqual(body["hello"], "hello from layer, again")

    def test_2_handler_error_shape(self):
        resp, body = invoke(self.lam, self.fn, {"fail": "x"})
        self.assertEqual(resp.get("FunctionError"), "Unhandled")
        self.assertEqual(body["errorType"], "TypeError")
        self.assertEqual(body["errorMessage"], "boom x")
        self.assertIsInstance(body["stackTrace"], list)

    def test_3_logs_reach_cloudwatch(self):
        invoke(self.lam, self.fn, {"name": "logs"})
        logs = client("logs")
        group = f"/aws/lambda/{self.fn}"

        def find():
            events = logs.filter_log_events(logGroupName=group).get("events", [])
            return [e["message"] for e in events if "handled" in e["message"] and "logs" in e["message"]]

        self.assertTrue(wait_until(find, 20, what="log events in CloudWatch Logs"))

    def test_4_timeout(self):
        name = f"sleepy-{RUN}"
        self._create_function(name, "index.sleeper", timeout=2)
        resp, body = invoke(self.lam, name, {"ms": 6000})
        self.assertEqual(resp.get("FunctionError"), "Unhandled", body)
        self.assertIn("Task timed out after 2.00 seconds", body["errorMessage"])
        self.assertLess(resp["_seconds"], 5.5)
        # the environment is replaced and works again
        resp, body = invoke(self.lam, name, {"ms": 10})
        self.assertNotIn("FunctionError", resp, body)
        self.assertEqual(body, {"slept": 10})

    def test_4b_crash_and_init_error(self):
        name = f"crashy-{RUN}"
        self._create_function(name, "index.crasher", timeout=5)
        resp, body = invoke(self.lam, name, {"crash": True})
        self.assertEqual(resp.get("FunctionError"), "Unhandled", body)
        self.assertEqual(body["errorType"], "Runtime.ExitError")
        self.assertIn("exit status 3", body["errorMessage"])
        resp, body = invoke(self.lam, name, {})
        self.assertEqual(body, "alive")

        name = f"nohandler-{RUN}"
        self._create_function(name, "index.doesNotExist", timeout=5)
        resp, body = invoke(self.lam, name, {})
        self.assertEqual(resp.get("FunctionError"), "Unhandled", body)
        self.assertEqual(body["errorType"], "Runtime.HandlerNotFound")

    def test_5_sqs_event_source_partial_batch_failures(self):
        dlq_url = self.sqs.create_queue(QueueName=f"dlq-{RUN}")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        q_url = self.sqs.create_queue(
            QueueName=f"work-{RUN}",
            Attributes={
                "VisibilityTimeout": "2",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"}),
            },
        )["QueueUrl"]
        q_arn = self.sqs.get_queue_attributes(QueueUrl=q_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sqs.send_message_batch(
            QueueUrl=q_url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "fail-2", "ok-3"])],
        )
        uuid_ = self.lam.create_event_source_mapping(
            EventSourceArn=q_arn,
            FunctionName=self.fn,
            BatchSize=10,
            MaximumBatchingWindowInSeconds=1,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )["UUID"]
        try:
            def seen():
                keys = {o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket, Prefix="seen/").get("Contents", [])}
                return keys if {"seen/ok-1", "seen/ok-3"} <= keys else None

            keys = wait_until(seen, 60, what="ok messages processed by the function")
            self.assertNotIn("seen/fail-2", keys)

            def dead_lettered():
                msgs = self.sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
                return [m["Body"] for m in msgs]

            self.assertEqual(wait_until(dead_lettered, 60, what="failed message in the DLQ"), ["fail-2"])
        finally:
            self.lam.delete_event_source_mapping(UUID=uuid_)

    def test_6_cloudformation_layer_and_function(self):
        cfn = client("cloudformation")
        code_bucket = f"code-{RUN}"
        self.s3.create_bucket(Bucket=code_bucket)
        self.s3.put_object(Bucket=code_bucket, Key="layer.zip", Body=LAYER_ZIP)
        self.s3.put_object(Bucket=code_bucket, Key="function.zip", Body=FUNCTION_ZIP)
        template = {
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                        }
                    },
                },
                "Layer": {
                    "Type": "AWS::Lambda::LayerVersion",
                    "Properties": {
                        "Content": {"S3Bucket": code_bucket, "S3Key": "layer.zip"},
                        "CompatibleRuntimes": ["nodejs24.x"],
                    },
                },
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Runtime": "nodejs24.x",
                        "Handler": "index.handler",
                        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                        "Code": {"S3Bucket": code_bucket, "S3Key": "function.zip"},
                        "Layers": [{"Ref": "Layer"}],
                        "Timeout": 10,
                        "Environment": {"Variables": {"GREETING": "from cfn", "SEEN_BUCKET": self.bucket}},
                    },
                },
            },
            "Outputs": {"FunctionName": {"Value": {"Ref": "Fn"}}},
        }
        stack = f"executor-test-{RUN}"
        cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
        try:
            cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
            outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
            fn_name = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "FunctionName")
            config = self.lam.get_function(FunctionName=fn_name)["Configuration"]
            self.assertEqual(config["State"], "Active", config)
            self.assertEqual(len(config["Layers"]), 1)
            resp, body = invoke(self.lam, fn_name, {"name": "cfn"})
            self.assertNotIn("FunctionError", resp, body)
            self.assertEqual(body["hello"], "hello from layer, cfn")
            self.assertEqual(body["greeting"], "from cfn")
        finally:
            cfn.delete_stack(StackName=stack)
            cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120})

    def test_7_unsupported_runtime_fails_clearly(self):
        name = f"py-{RUN}"
        self.functions.append(name)
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=self.role_arn,
            Handler="index.handler",
            Code={"ZipFile": _zip({"index.py": ("def handler(e, c):\n    return 1\n", 0o644)})},
        )

        def settled():
            cfg = self.lam.get_function(FunctionName=name)["Configuration"]
            return cfg if cfg["State"] != "Pending" else None

        cfg = wait_until(settled, 30, what="python function to leave Pending")
        self.assertEqual(cfg["State"], "Failed")
        print(f"\n  python3.13 function: State={cfg['State']} Reason={cfg.get('StateReason')!r}")

    @unittest.skipUnless(os.environ.get("BIG_LAYER") == "1", "set BIG_LAYER=1 (zips ~145 MB of ffmpeg/ffprobe)")
    def test_8_big_ffmpeg_layer(self):
        binaries = {
            "bin/ffmpeg": REPO / "node_modules/@ffmpeg-installer/linux-x64/ffmpeg",
            "bin/ffprobe": REPO / "node_modules/@ffprobe-installer/linux-x64/ffprobe",
        }
        buf = io.BytesIO()
        t0 = time.monotonic()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for arc, path in binaries.items():
                zf.write(path, arc)  # keeps the file's unix mode
        zipped = buf.getvalue()
        t1 = time.monotonic()
        self.s3.create_bucket(Bucket=f"layers-{RUN}")
        self.s3.put_object(Bucket=f"layers-{RUN}", Key="ffmpeg.zip", Body=zipped)
        arn = self.lam.publish_layer_version(
            LayerName=f"ffmpeg-{RUN}", Content={"S3Bucket": f"layers-{RUN}", "S3Key": "ffmpeg.zip"}
        )["LayerVersionArn"]
        t2 = time.monotonic()
        name = f"ffmpeg-{RUN}"
        self._create_function(name, "index.tool", timeout=30, layers=[arn])
        t3 = time.monotonic()
        _, ffmpeg = invoke(self.lam, name, {"cmd": "ffmpeg"})
        _, ffprobe = invoke(self.lam, name, {"cmd": "ffprobe"})
        t4 = time.monotonic()
        print(
            f"\n  zip {len(zipped) / 1e6:.0f} MB in {t1 - t0:.1f}s, upload+publish {t2 - t1:.1f}s,"
            f" create->Active {t3 - t2:.1f}s, two invokes {t4 - t3:.1f}s"
        )
        self.assertTrue(ffmpeg["line"].startswith("ffmpeg version"), ffmpeg)
        self.assertTrue(ffprobe["line"].startswith("ffprobe version"), ffprobe)


if __name__ == "__main__":
    unittest.main(verbosity=2)
