import { expect } from 'chai';
import { isHls, playlistEntries, playlistKind } from '../../../../../firmware/audio/sources/playlist.ts';

describe('radio playlists', () => {
  const base = new URL('http://radio.example/lists/station.m3u');

  it('knows a playlist by its content type, else by its extension; audio is not one', () => {
    expect(playlistKind('audio/x-mpegurl', new URL('http://x/listen'))).to.equal('m3u');
    expect(playlistKind('audio/x-scpls; charset=utf-8', new URL('http://x/listen'))).to.equal('pls');
    expect(playlistKind('text/plain', new URL('http://x/a.pls'))).to.equal('pls');
    expect(playlistKind(undefined, new URL('http://x/a.M3U8'))).to.equal('m3u');
    expect(playlistKind('audio/mpeg', new URL('http://x/stream.m3u'))).to.equal(null);
    expect(playlistKind('application/octet-stream', new URL('http://x/stream'))).to.equal(null);
  });

  it('m3u: the non-comment lines, resolved against the playlist; other schemes left out', () => {
    const text = '\uFEFF#EXTM3U\r\n#EXTINF:-1,Station\r\nhttp://a.example/stream\r\n\r\nrelative/high.mp3\r\nfile:///etc/passwd\r\nrtsp://x/y\r\n';
    expect(playlistEntries('m3u', text, base)).to.deep.equal(['http://a.example/stream', 'http://radio.example/lists/relative/high.mp3']);
  });

  it('pls: File entries in their numbered order', () => {
    const text = '[playlist]\nNumberOfEntries=2\nFile2=http://b.example/2\nTitle1=One\nFile1 = https://a.example/1\nVersion=2\n';
    expect(playlistEntries('pls', text, base)).to.deep.equal(['https://a.example/1', 'http://b.example/2']);
  });

  it('tells an HLS playlist from a list of streams', () => {
    expect(isHls('#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\nseg1.ts\n')).to.equal(true);
    expect(isHls('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=128000\nlow/index.m3u8\n')).to.equal(true);
    expect(isHls('#EXTM3U\n#EXTINF:-1,Station\nhttp://a.example/stream\n')).to.equal(false);
  });
});
