# One Dockerfile for the three programs: one build stage (the restore layer is cached until a project file or the
# central package versions change), then one small runtime image per program, chosen with --target:
#   docker build --target silo     -t longlived/silo .
#   docker build --target gateway  -t longlived/gateway .
#   docker build --target emulator -t longlived/emulator .
# docker-compose.yml builds all three. Works with the classic builder (no BuildKit features).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first: restore runs again only when they change, not on every source edit.
COPY Directory.Build.props Directory.Packages.props ./
COPY Contracts/Contracts.csproj Contracts/
COPY Channelz/Channelz.csproj Channelz/
COPY Client/LongLived.Client.csproj Client/
COPY Streams/Streams.csproj Streams/
COPY Hosting/Hosting.csproj Hosting/ServerRuntime.props Hosting/
COPY Silo/Silo.csproj Silo/
COPY Gateway/Gateway.csproj Gateway/
COPY Emulator/Emulator.csproj Emulator/
RUN dotnet restore Silo/Silo.csproj \
 && dotnet restore Gateway/Gateway.csproj \
 && dotnet restore Emulator/Emulator.csproj
COPY Contracts/ Contracts/
COPY Channelz/ Channelz/
COPY Client/ Client/
COPY Streams/ Streams/
COPY Hosting/ Hosting/
COPY Silo/ Silo/
COPY Gateway/ Gateway/
COPY Emulator/ Emulator/
# Framework-dependent, no apphost: the aspnet runtime image runs `dotnet <program>.dll`.
RUN dotnet publish Silo/Silo.csproj -c Release --no-restore -o /app/silo -p:UseAppHost=false \
 && dotnet publish Gateway/Gateway.csproj -c Release --no-restore -o /app/gateway -p:UseAppHost=false \
 && dotnet publish Emulator/Emulator.csproj -c Release --no-restore -o /app/emulator -p:UseAppHost=false

# Silo: Orleans silo-to-silo 11111, gateway (Orleans clients) 30000, HTTP 8090 (/healthz, /metrics, /dashboard).
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS silo
WORKDIR /app
COPY --from=build /app/silo .
USER $APP_UID
EXPOSE 11111 30000 8090
ENV Orleans__ListenOnAnyHostAddress=true Silo__ListenAnyIP=true
HEALTHCHECK --interval=5s --timeout=4s --start-period=60s --retries=3 CMD ["dotnet", "LongLived.Silo.dll", "--healthcheck", "http://127.0.0.1:8090/healthz"]
ENTRYPOINT ["dotnet", "LongLived.Silo.dll"]

# Gateway: gRPC h2c on Gateway__Port (default 7070), admin HTTP on the gRPC port + 1000.
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS gateway
WORKDIR /app
COPY --from=build /app/gateway .
USER $APP_UID
EXPOSE 7070 8070
ENV Gateway__ListenAnyIP=true
HEALTHCHECK --interval=5s --timeout=4s --start-period=60s --retries=3 CMD ["dotnet", "LongLived.Gateway.dll", "--healthcheck", "http://127.0.0.1:8070/healthz"]
ENTRYPOINT ["dotnet", "LongLived.Gateway.dll"]

# Emulator: pass its arguments as the container command, e.g. --addr static:gateway1:7071,gateway2:7072 --clients 100
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS emulator
WORKDIR /app
COPY --from=build /app/emulator .
USER $APP_UID
ENTRYPOINT ["dotnet", "LongLived.Emulator.dll"]
