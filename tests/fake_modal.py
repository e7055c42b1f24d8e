"""A loopback stand-in for Modal's gRPC control plane, served to the real `modal` SDK (1.6.4).

Built from the SDK's own service definition (`modal_proto.api_grpc.ModalClientBase`) and what the
SDK sends (../shared/reference/modal-facts.md): every RPC goes through one handler that records
it, checks the token metadata and answers UNIMPLEMENTED for an RPC this class does not define, so
an RPC a newer SDK adds fails loudly. State lives in dicts keyed by Modal-shaped ids. Awkward
parts modelled: a deploy publishes only at AppPublish (an app whose deploy broke stays
INITIALIZING), a redeploy publishes a new version under the same app id and drops autoscaler
overrides, a missing Secret is NOT_FOUND, a failed image build streams its error, an
app stops only through AppStop, and a stopped app's name no longer resolves.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import threading
import time

import grpclib.const
import grpclib.server
from google.protobuf import empty_pb2
from grpclib import GRPCError, Status
from modal_proto import api_grpc, api_pb2

TOKEN_ID, TOKEN_SECRET = "ak-tunatesttoken0001", "as-tunatestsecret0001"
IMAGE_BUILDER_VERSION = "2025.06"
LIVE_APP_STATES = (api_pb2.APP_STATE_INITIALIZING, api_pb2.APP_STATE_DEPLOYED)
_ids = itertools.count(1)


def modal_id(prefix: str) -> str:
    """Modal-shaped ids: the SDK tells ids from names by shape (`ap-` + 22 characters)."""
    return f"{prefix}-{next(_ids):022d}"


class App:
    def __init__(self, name: str, tags: dict[str, str]):
        self.id = modal_id("ap")
        self.name = name
        self.tags = dict(tags)
        self.state = api_pb2.APP_STATE_INITIALIZING
        self.version = 0
        self.created_at = time.time()
        self.stopped_at = 0.0
        self.functions: dict[str, Function] = {}  # by name
        self.logs: list[tuple[float, str]] = []
        self.foreign = False


class Function:
    def __init__(self, app: App, name: str):
        self.id = modal_id("fu")
        self.app = app
        self.name = name
        self.definition: api_pb2.Function | None = None
        self.data: api_pb2.FunctionData | None = None  # as the server answers it
        self.runners = 0  # containers up now: the test sets it
        self.backlog = 0
        self.overrides: dict[str, int] = {}  # autoscaler settings set after the deploy
        self.start_reads = 0

    @property
    def web_url(self) -> str:
        return f"https://tuna-test--{self.app.name}-{self.name}.modal.run"

    def autoscaler(self) -> dict[str, int]:
        settings = self.definition.autoscaler_settings if self.definition else None
        deployed = {field: getattr(settings, field) for field in
                    ("min_containers", "max_containers", "buffer_containers", "scaledown_window")
                    if settings is not None and settings.HasField(field)}
        return {**deployed, **self.overrides}


class FakeModal(api_grpc.ModalClientBase):
    def __init__(self):
        self.calls: list[tuple[str, object]] = []
        self.apps: dict[str, App] = {}
        self.secrets: set[str] = set()
        self.volumes: dict[str, str] = {}
        self.images: dict[str, api_pb2.Image] = {}
        self.files: list[str] = []  # the contents of every file a deploy shipped
        self.blobs: dict[str, str] = {}  # sha256 -> content, what the mount store holds
        self.fail_build: str | None = None  # an image build error message
        self.faults: dict[str, Status] = {}  # rpc name -> the status its next call answers
        self.delays: dict[str, float] = {}  # rpc name -> seconds before it answers
        self.reads_to_start = 2  # stats reads before min_containers containers are up
        self.routes = {
            path: grpclib.const.Handler(functools.partial(self._handle, path.rsplit("/", 1)[1]),
                                        handler.cardinality, handler.request_type,
                                        handler.reply_type)
            for path, handler in api_grpc.ModalClientBase.__mapping__(self).items()}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: grpclib.server.Server | None = None
        self.url = ""

    def __mapping__(self):
        return self.routes

    # --- serving -------------------------------------------------------------------------------

    def start(self) -> FakeModal:
        ready = threading.Event()

        def serve():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = grpclib.server.Server([self])
            self._loop.run_until_complete(self._server.start("127.0.0.1", 0))
            port = self._server._server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop and self._server:
            self._loop.call_soon_threadsafe(self._server.close)
            self._loop.call_soon_threadsafe(self._loop.stop)

    def add_foreign_app(self, name: str) -> App:
        """An app somebody else deployed in the workspace: tuna must leave it alone."""
        app = App(name, {})
        app.state, app.foreign = api_pb2.APP_STATE_DEPLOYED, True
        self.apps[app.id] = app
        return app

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def app_named(self, name: str) -> App | None:
        live = [a for a in self.apps.values() if a.name == name
                and a.state != api_pb2.APP_STATE_STOPPED]
        return live[-1] if live else None

    async def _handle(self, name: str, stream):
        request = await stream.recv_message()
        self.calls.append((name, request))
        metadata = stream.metadata
        if (metadata.get("x-modal-token-id"), metadata.get("x-modal-token-secret")) != (
                TOKEN_ID, TOKEN_SECRET) and name != "ClientHello":
            raise GRPCError(Status.UNAUTHENTICATED, "Invalid token")
        if name in self.faults:
            raise GRPCError(self.faults.pop(name), f"injected fault on {name}")
        if name in self.delays:
            await asyncio.sleep(self.delays[name])
        handler = type(self).__dict__.get(name)
        if handler is None:
            raise GRPCError(Status.UNIMPLEMENTED, f"the fake does not implement {name}")
        reply = handler(self, request)
        if isinstance(reply, list):  # a streamed answer
            for message in reply:
                await stream.send_message(message)
        else:
            await stream.send_message(reply)

    def _app(self, app_id: str) -> App:
        app = self.apps.get(app_id)
        if app is None:
            raise GRPCError(Status.NOT_FOUND, f"App {app_id} not found")
        return app

    # --- session -------------------------------------------------------------------------------

    def ClientHello(self, request):
        return api_pb2.ClientHelloResponse()

    def WorkspaceNameLookup(self, request):
        return api_pb2.WorkspaceNameLookupResponse(username="tuna-test", workspace_name="tuna-test")

    def EnvironmentGetOrCreate(self, request):
        return api_pb2.EnvironmentGetOrCreateResponse(
            environment_id="en-" + "0" * 22,
            metadata=api_pb2.EnvironmentMetadata(name="main", settings=api_pb2.EnvironmentSettings(
                image_builder_version=IMAGE_BUILDER_VERSION, webhook_suffix="modal.run")))

    # --- apps ----------------------------------------------------------------------------------

    def AppGetByDeploymentName(self, request):
        app = self.app_named(request.name)
        if app is None or app.state != api_pb2.APP_STATE_DEPLOYED:
            return api_pb2.AppGetByDeploymentNameResponse()
        return api_pb2.AppGetByDeploymentNameResponse(app_id=app.id)

    def AppCreate(self, request):
        app = App(request.description, dict(request.tags))
        self.apps[app.id] = app
        return api_pb2.AppCreateResponse(app_id=app.id, app_page_url=f"https://modal.com/apps/{app.id}")

    def AppGetOrCreate(self, request):
        if request.app_name in self.apps:  # an id: it names the app whatever its state
            return api_pb2.AppGetOrCreateResponse(app_id=request.app_name)
        app = self.app_named(request.app_name)
        if app is None or app.state not in (api_pb2.APP_STATE_DEPLOYED,
                                             api_pb2.APP_STATE_INITIALIZING):
            if request.object_creation_type != api_pb2.OBJECT_CREATION_TYPE_CREATE_IF_MISSING:
                raise GRPCError(Status.NOT_FOUND, f"App '{request.app_name}' not found")
            app = App(request.app_name, {})
            app.state = api_pb2.APP_STATE_DEPLOYED  # an empty deployed app, as the docs say
            self.apps[app.id] = app
        return api_pb2.AppGetOrCreateResponse(app_id=app.id)

    def AppGetLayout(self, request):
        app = self._app(request.app_id)
        return api_pb2.AppGetLayoutResponse(app_layout=api_pb2.AppLayout(
            function_ids={f.name: f.id for f in app.functions.values()}))

    def AppHeartbeat(self, request):
        return empty_pb2.Empty()

    def AppClientDisconnect(self, request):
        return empty_pb2.Empty()

    def AppPublish(self, request):
        app = self._app(request.app_id)
        app.name = request.name or app.name
        app.tags.update(request.tags)
        app.state = api_pb2.APP_STATE_DEPLOYED
        app.version += 1
        for function in app.functions.values():
            function.overrides = {}  # a redeploy wipes the autoscaler overrides
        app.logs.append((time.time(), f"App deployed: version {app.version}\n"))
        return api_pb2.AppPublishResponse(url=f"https://modal.com/apps/{app.id}")

    def AppGetTags(self, request):
        return api_pb2.AppGetTagsResponse(tags=self._app(request.app_id).tags)

    def AppGetInfo(self, request):
        app = self._app(request.app_id)
        return api_pb2.AppGetInfoResponse(info=api_pb2.AppHandleMetadata(
            app_id=app.id, description=app.name, environment_name="main",
            lifecycle=api_pb2.AppLifecycle(app_state=app.state, version=app.version,
                                           created_at=app.created_at,
                                           stopped_at=app.stopped_at)))

    def AppList(self, request):
        return api_pb2.AppListResponse(apps=[
            api_pb2.AppListResponse.AppListItem(
                app_id=app.id, description=app.name, name=app.name, state=app.state, created_at=app.created_at,
                stopped_at=app.stopped_at, n_running_tasks=sum(
                    f.runners for f in app.functions.values()))
            for app in self.apps.values()])

    def AppStop(self, request):
        app = self._app(request.app_id)
        app.state, app.stopped_at = api_pb2.APP_STATE_STOPPED, time.time()
        for function in app.functions.values():
            function.runners = 0
        return empty_pb2.Empty()

    def AppFetchLogs(self, request):
        since, until = _seconds(request.since), _seconds(request.until)
        entries = [api_pb2.TaskLogs(timestamp=stamp, data=line,
                                    file_descriptor=api_pb2.FILE_DESCRIPTOR_STDOUT)
                   for stamp, line in self._app(request.app_id).logs
                   if since <= stamp and (not until or stamp < until)]
        if request.limit:
            entries = entries[-request.limit:]
        return api_pb2.AppFetchLogsResponse(batches=[api_pb2.TaskLogsBatch(items=entries)])

    def AppCountLogs(self, request):
        """Log lines counted in buckets of `bucket_secs` from `since`, as the SDK pages by them."""
        since, until = _seconds(request.since), _seconds(request.until) or time.time()
        width = request.bucket_secs or 60
        buckets: dict[int, int] = {}
        for stamp, _ in self._app(request.app_id).logs:
            if since <= stamp < until:
                index = int((stamp - since) // width)
                buckets[index] = buckets.get(index, 0) + 1
        return api_pb2.AppCountLogsResponse(app_id=request.app_id, buckets=[
            api_pb2.AppCountLogsResponse.LogBucket(
                bucket_start_at=_timestamp(since + index * width), stdout_logs=count)
            for index, count in sorted(buckets.items())])

    # --- objects -------------------------------------------------------------------------------

    def SecretGetOrCreate(self, request):
        if request.deployment_name not in self.secrets:
            raise GRPCError(Status.NOT_FOUND, f"Secret '{request.deployment_name}' not found")
        return api_pb2.SecretGetOrCreateResponse(secret_id="st-" + request.deployment_name.ljust(22, "0")[:22])

    def VolumeGetOrCreate(self, request):
        volume_id = self.volumes.setdefault(request.deployment_name, modal_id("vo"))
        return api_pb2.VolumeGetOrCreateResponse(volume_id=volume_id)

    def MountGetOrCreate(self, request):
        return api_pb2.MountGetOrCreateResponse(mount_id=modal_id("mo"),
                                                handle_metadata=api_pb2.MountHandleMetadata())

    def MountBatchedCheckExistence(self, request):
        return api_pb2.MountBatchedCheckExistenceResponse(missing_sha256_hex_hashes=[
            digest for digest in request.sha256_hex_hashes if digest not in self.blobs])

    def MountPutFile(self, request):
        if request.data:
            self.blobs[request.sha256_hex] = request.data.decode()
            self.files.append(self.blobs[request.sha256_hex])
        return api_pb2.MountPutFileResponse(exists=request.sha256_hex in self.blobs)

    def ImageGetOrCreate(self, request):
        image_id = modal_id("im")
        self.images[image_id] = request.image
        if self.fail_build:
            return api_pb2.ImageGetOrCreateResponse(image_id=image_id)  # streams the build
        return api_pb2.ImageGetOrCreateResponse(image_id=image_id, result=api_pb2.GenericResult(
            status=api_pb2.GenericResult.GENERIC_STATUS_SUCCESS))

    def ImageJoinStreaming(self, request):
        message = self.fail_build or "built"
        status = (api_pb2.GenericResult.GENERIC_STATUS_FAILURE if self.fail_build
                  else api_pb2.GenericResult.GENERIC_STATUS_SUCCESS)
        return [api_pb2.ImageJoinStreamingResponse(
                    task_logs=[api_pb2.TaskLogs(data=f"Building image: {message}\n")]),
                api_pb2.ImageJoinStreamingResponse(
                    result=api_pb2.GenericResult(status=status, exception=message), eof=True)]

    # --- functions -----------------------------------------------------------------------------

    def FunctionPrecreate(self, request):
        app = self._app(request.app_id)
        function = app.functions.get(request.function_name)
        if function is None:
            function = app.functions[request.function_name] = Function(app, request.function_name)
        return api_pb2.FunctionPrecreateResponse(
            function_id=function.id, handle_metadata=self._handle_metadata(function))

    def FunctionCreate(self, request):
        app = self._app(request.app_id)
        if not request.HasField("function"):
            raise GRPCError(Status.INVALID_ARGUMENT, "the fake takes one GPU type per function")
        name = request.function.function_name
        function = app.functions.get(name) or Function(app, name)
        app.functions[name] = function
        function.definition = request.function
        # The server answers with the function as it will run: one ranked copy per GPU choice.
        data = function.data = api_pb2.FunctionData(
            function_name=name, web_url=function.web_url,
            webhook_config=request.function.webhook_config,
            autoscaler_settings=request.function.autoscaler_settings,
            ranked_functions=[api_pb2.FunctionData.RankedFunction(rank=0,
                                                                  function=request.function)])
        return api_pb2.FunctionCreateResponse(
            function_id=function.id, handle_metadata=self._handle_metadata(function),
            function_data=data)

    def _handle_metadata(self, function: Function) -> api_pb2.FunctionHandleMetadata:
        definition = function.definition
        return api_pb2.FunctionHandleMetadata(
            function_name=function.name, web_url=function.web_url, app_id=function.app.id,
            definition_id=function.id,
            function_type=api_pb2.Function.FUNCTION_TYPE_FUNCTION,
            is_method=False,
            function_schema=definition.function_schema if definition else None)

    def _function(self, app_name: str, name: str) -> Function:
        app = self.app_named(app_name)
        published = name in app.functions and app.functions[name].data is not None if app else False
        if app is None or app.state != api_pb2.APP_STATE_DEPLOYED or not published:
            raise GRPCError(Status.NOT_FOUND, f"Lookup failed for Function '{name}' from the "
                            f"'{app_name}' app")
        return app.functions[name]

    def _function_by_id(self, function_id: str) -> Function:
        for app in self.apps.values():
            for function in app.functions.values():
                if function.id == function_id:
                    return function
        raise GRPCError(Status.NOT_FOUND, f"Function {function_id} not found")

    def FunctionGet(self, request):
        function = self._function(request.app_name, request.object_tag)
        return api_pb2.FunctionGetResponse(function_id=function.id, function=function.data,
                                           handle_metadata=self._handle_metadata(function))

    def FunctionGetCurrentStats(self, request):
        function = self._function_by_id(request.function_id)
        wanted = function.autoscaler().get("min_containers", 0)
        if function.runners < wanted:  # containers start a while after the deploy
            function.start_reads += 1
            if function.start_reads >= self.reads_to_start:
                function.runners = wanted
        return api_pb2.FunctionStats(backlog=function.backlog,
                                     num_total_tasks=function.runners)

    def FunctionUpdateSchedulingParams(self, request):
        function = self._function_by_id(request.function_id)
        settings = request.settings
        for field in ("min_containers", "max_containers", "buffer_containers",
                      "scaledown_window"):
            if settings.HasField(field):
                function.overrides[field] = getattr(settings, field)
        return api_pb2.FunctionUpdateSchedulingParamsResponse()

    def FunctionGetSchedulingParams(self, request):
        function = self._function_by_id(request.function_id)
        return api_pb2.FunctionGetSchedulingParamsResponse(
            autoscaler_configuration=api_pb2.AutoscalerConfiguration(
                settings=api_pb2.AutoscalerSettings(**function.autoscaler())))


FakeModal.__abstractmethods__ = frozenset()


def _seconds(stamp) -> float:
    return stamp.seconds + stamp.nanos / 1e9


def _timestamp(seconds: float):
    from google.protobuf.timestamp_pb2 import Timestamp

    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp
