/*
 * The html page's style sheet and script, inline (the page's CSP lets
 * nothing be fetched). No logic of the reporter's here.
 */
#include "html.h"

const char html_assets_css[] =
	"body{font:14px/1.4 "
	"system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}\n"
	"h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid "
	"#ccc;margin-top:2em}\n"
	"h3{font-size:1.05em}\n"
	"table{border-collapse:collapse;margin:.5em 0}\n"
	"td,th{padding:2px 8px;text-align:left;vertical-align:top}\n"
	"table.summary th{font-weight:normal;color:#555}\n"
	"table.stats{font:12px/1.3 monospace}\n"
	"table.stats "
	"th{background:#eee;cursor:pointer;user-select:none;white-space:nowrap}\n"
	"table.stats th:hover{background:#ddd}\n"
	"table.stats tr:nth-child(even) td{background:#f7f7f7}\n"
	"td.num{text-align:right;white-space:nowrap}\n"
	"td.name{word-break:break-all}\n"
	"th[aria-sort=ascending]::after{content:' \\25B2'}\n"
	"th[aria-sort=descending]::after{content:' \\25BC'}\n"
	".wrap{max-height:32em;overflow:auto;display:inline-block;border:1px solid "
	"#ddd}\n"
	"iframe.fg{width:1224px;max-width:100%;border:1px solid "
	"#ddd;display:block}\n"
	".fg-bar{margin:.3em 0;color:#555}\n"
	".note{color:#a40}\n"
	"nav a{margin-right:1em}\n";

/* Sorting: numbers by data-v, text by content; a second click reverses.
 * The flame graphs zoom with their own script (flamegraph.c). */
const char html_assets_js[] =
	"(function(){\n"
	"'use strict';\n"
	"document.querySelectorAll('table.sortable').forEach(function(t){\n"
	"  var ths=t.querySelectorAll('thead th');\n"
	"  ths.forEach(function(th,col){\n"
	"    th.addEventListener('click',function(){\n"
	"      var num=th.dataset.type==='num', cur=th.getAttribute('aria-sort');\n"
	"      var desc=cur?cur==='ascending':num;\n"
	"      ths.forEach(function(o){o.removeAttribute('aria-sort');});\n"
	"      th.setAttribute('aria-sort',desc?'descending':'ascending');\n"
	"      var tb=t.tBodies[0], rows=Array.prototype.slice.call(tb.rows);\n"
	"      rows.sort(function(a,b){\n"
	"        var x=a.cells[col], y=b.cells[col], r;\n"
	"        if(num) r=parseFloat(x.dataset.v)-parseFloat(y.dataset.v);\n"
	"        else "
	"r=x.textContent<y.textContent?-1:x.textContent>y.textContent?1:0;\n"
	"        return desc?-r:r;\n"
	"      });\n"
	"      rows.forEach(function(r){tb.appendChild(r);});\n"
	"    });\n"
	"  });\n"
	"});\n"
	"})();\n";
