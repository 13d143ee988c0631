"""The process contract the SDK harness relies on: the `Listening at` line, SIGTERM and bad fixtures."""
import subprocess

from support import AUTH_ARGS, mock_binary, start_server, stop_server


def test_server_announces_a_loopback_uri_and_exits_0_on_sigterm():
    # Arrange
    server = start_server()

    # Act
    exit_code = stop_server(server)

    # Assert
    assert server.uri == "http://127.0.0.1:%d" % server.port and server.port > 0
    assert exit_code == 0


def test_bad_fixture_exits_2_naming_the_file_and_json_path(tmp_path):
    # Arrange
    fixture = tmp_path / "broken.json"
    fixture.write_text('{"swr": {"namespaces": [{"name": 42}]}}')

    # Act
    result = subprocess.run([str(mock_binary()), "--port", "0", *AUTH_ARGS, "--fixtures", str(fixture)],
                            capture_output=True, text=True, timeout=10)

    # Assert
    assert result.returncode == 2
    assert "broken.json" in result.stderr
    assert "namespaces" in result.stderr
    assert "Listening at" not in result.stdout
