#!/usr/bin/env bash
# LongLived.Client as a user gets it: `dotnet pack` makes the package (with its XML docs, without Orleans), and the
# program in README.md's "Write a client" section builds against that package from a folder feed.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/shell/lib.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

out=$(dotnet pack Client/LongLived.Client.csproj -c Release -nologo -o "$work/feed" 2>&1); check "dotnet pack Client" $? "$out"
package=$(ls "$work"/feed/LongLived.Client.*.nupkg 2>/dev/null | head -n 1)
version=$(basename "${package:-none}" .nupkg); version=${version#LongLived.Client.}
listing=$(python3 -m zipfile -l "${package:-/dev/null}" 2>&1)
grep -q 'lib/net10.0/LongLived.Client.dll' <<<"$listing" && grep -q 'lib/net10.0/LongLived.Client.xml' <<<"$listing"
check "the package holds the library and its XML docs" $? "$listing"
nuspec=$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("LongLived.Client.nuspec").decode())' "${package:-/dev/null}" 2>&1)
grep -q 'id="Grpc.Net.Client"' <<<"$nuspec" && ! grep -qi 'orleans' <<<"$nuspec"
check "it depends on Grpc.Net.Client and not on Orleans" $? "$nuspec"

# The README's program, verbatim, in a new console project that gets the package from the feed (its dependencies from
# the usual sources).
mkdir -p "$work/app"
awk '/<!-- client-example/{found=1; next} found && /^```csharp/{inside=1; next} inside && /^```/{exit} inside' README.md > "$work/app/Program.cs"
cat > "$work/app/App.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="LongLived.Client" Version="$version" />
  </ItemGroup>
</Project>
XML
# Outside the repository: its Directory.Build.props and central package versions must not help.
cat > "$work/app/nuget.config" <<XML
<configuration>
  <packageSources>
    <add key="feed" value="$work/feed" />
  </packageSources>
</configuration>
XML
[ -s "$work/app/Program.cs" ]; check "README.md has the client program" $? "no csharp block after <!-- client-example -->"
out=$(cd "$work/app" && dotnet build -nologo 2>&1); check "the README's client program builds against the package" $? "$out"
summary
